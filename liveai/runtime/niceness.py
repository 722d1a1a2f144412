"""The scheduling weight of children started in a session of their own.

On Linux with autogroup scheduling, a new session starts a scheduling group of its own,
weighed against the others at nice 0 whatever its processes' niceness or class: a
learn child at nice 19 in the idle class would still compete with the live server at
equal weight, and so would a server that a niced test run starts. Setting the group's
niceness keeps them below.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def group_niceness(pid: int, nice: int) -> None:
    """Give the autogroup of `pid` (a child that called setsid) this niceness, where the
    system has autogroups; else nothing."""
    try:
        with open(f"/proc/{pid}/autogroup", "w") as group:
            group.write(str(nice))
    except OSError as exc:  # no autogroups here, or the child is gone already
        log.debug("the scheduling group of %d keeps its weight: %s", pid, exc)


def keep_niceness(pid: int) -> None:
    """Give the autogroup of `pid` this process's niceness, where it is above 0."""
    nice = os.nice(0)
    if nice > 0:
        group_niceness(pid, nice)
