"""A child in a session of its own keeps its parent's niceness, or is given one
(Linux autogroups: a new session's group weighs as nice 0 otherwise)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PARENT = """
import os, subprocess, sys
from liveai.runtime.niceness import group_niceness, keep_niceness
nice = os.nice(7)
child = subprocess.Popen(["sleep", "5"], start_new_session=True)
if sys.argv[1] == "keep":
    keep_niceness(child.pid)
elif sys.argv[1] == "set":
    group_niceness(child.pid, 19)
print(nice, open(f"/proc/{child.pid}/autogroup").read().split()[-1])
child.kill()
"""


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="this kernel has no autogroups")
def test_a_child_in_its_own_session_keeps_the_parents_niceness():
    def niceness(mode: str) -> tuple[int, int]:
        """(the parent's niceness, the child's group's)"""
        done = subprocess.run(
            [sys.executable, "-c", PARENT, mode], capture_output=True, text=True, check=True
        )
        parent, group = map(int, done.stdout.split())
        return parent, group

    parent, group = niceness("plain")
    assert parent >= 7 and group == 0  # what autogroups do: a new session weighs as nice 0
    parent, group = niceness("keep")
    assert group == parent
    parent, group = niceness("set")  # the live learner's child
    assert group == 19
