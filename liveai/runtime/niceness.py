"""Children started in a session of their own keep their parent's niceness.

On Linux with autogroup scheduling, a new session starts a scheduling group of its own,
weighed against the others at nice 0 whatever its processes' niceness: a server that a
niced test run (or a niced liveai) starts in its own session would compete with
everything else at full weight. Giving the group the parent's niceness keeps it below.
"""

from __future__ import annotations

import os


def keep_niceness(pid: int) -> None:
    """Give the autogroup of `pid` (a child that called setsid) this process's niceness,
    where it is above 0 and the system has autogroups; else nothing."""
    nice = os.nice(0)
    if nice <= 0:
        return
    try:
        with open(f"/proc/{pid}/autogroup", "w") as group:
            group.write(str(nice))
    except OSError:  # no autogroups here, or the child is gone already
        pass
