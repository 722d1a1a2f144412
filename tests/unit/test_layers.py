"""The house's rules that import-linter cannot see: the core loads without torch, and
the package list that ships in a wheel is every package there is."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_core_loads_no_torch():
    code = (
        "import sys, liveai.core.engine, liveai.core.session, liveai.core.conductor; "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_wheel_lists_every_package():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    folders = {"liveai"} | {
        "liveai." + p.parent.relative_to(ROOT / "liveai").as_posix().replace("/", ".")
        for p in (ROOT / "liveai").rglob("__init__.py")
        if p.parent != ROOT / "liveai"
    }
    assert set(packages) == folders | {"liveai.shipped"}


def test_no_module_is_over_400_lines():
    long = {
        p.relative_to(ROOT).as_posix(): n
        for p in (ROOT / "liveai").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long
