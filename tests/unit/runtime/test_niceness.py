"""A child in a session of its own keeps its parent's niceness (Linux autogroups)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PARENT = """
import os, subprocess, sys
from liveai.runtime.niceness import keep_niceness
os.nice(7)
child = subprocess.Popen(["sleep", "5"], start_new_session=True)
if sys.argv[1] == "keep":
    keep_niceness(child.pid)
print(open(f"/proc/{child.pid}/autogroup").read().split()[-1])
child.kill()
"""


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="this kernel has no autogroups")
def test_a_child_in_its_own_session_keeps_the_parents_niceness():
    def group_nice(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", PARENT, mode], capture_output=True, text=True, check=True
        )
        return int(done.stdout)

    assert group_nice("plain") == 0  # what autogroups do: a new session weighs as nice 0
    assert group_nice("keep") == 7
