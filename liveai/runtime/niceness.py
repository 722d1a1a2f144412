"""The scheduling weight of children started in a session of their own.

On Linux with autogroup scheduling, a new session starts a scheduling group of its own,
weighed against the others at nice 0 whatever its processes' niceness or class: a
learn child at nice 19 in the idle class would still compete with the live server at
equal weight, and so would a server that a niced test run starts. Setting the group's
niceness keeps them below.
"""

from __future__ import annotations

import errno
import logging
import os
import time

log = logging.getLogger(__name__)
# Without CAP_SYS_ADMIN the kernel takes one autogroup change a system-wide 100 ms (EAGAIN)
RETRIES, RETRY_S = 3, 0.11


def group_niceness(pid: int, nice: int) -> bool:
    """Give the autogroup of `pid` (a child that called setsid) this niceness; whether it
    took. Where the system has no autogroups there is nothing to do (True)."""
    for attempt in range(RETRIES + 1):
        try:
            with open(f"/proc/{pid}/autogroup", "w") as group:
                group.write(str(nice))
            return True
        except FileNotFoundError:  # no autogroups here, or the child is gone already
            return True
        except OSError as exc:
            if exc.errno != errno.EAGAIN or attempt == RETRIES:
                log.warning("the scheduling group of %d keeps its weight: %s", pid, exc)
                return False
            time.sleep(RETRY_S)  # never on the loop: the learner calls this in a thread
    return False


def keep_niceness(pid: int) -> None:
    """Give the autogroup of `pid` this process's niceness, where it is above 0."""
    nice = os.nice(0)
    if nice > 0:
        group_niceness(pid, nice)
