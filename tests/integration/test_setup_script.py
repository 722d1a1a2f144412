"""scripts/setup (which scripts/run and scripts/test call at every start) sets up only
when needed: the real script, in a copy of the repository's layout whose .venv tools
(python, pip) are stand-ins that record their calls."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def tool(path: Path, body: str) -> None:
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(0o755)


def copy(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup", tmp_path / "scripts" / "setup")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    calls = tmp_path / "pip-calls"
    tool(bin_dir / "python", "exit 0")  # `import torch` works
    tool(bin_dir / "pip", f'echo "$*" >> {calls}; touch {bin_dir / "liveai"}; chmod +x {bin_dir / "liveai"}')
    return tmp_path, calls


def setup(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(root / "scripts" / "setup"), "--no-system", *args], capture_output=True, text=True, timeout=60
    )


def installs(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_setup_runs_once_then_only_when_the_dependencies_change(tmp_path):
    root, calls = copy(tmp_path)
    assert setup(root).returncode == 0 and installs(calls) == 1  # a fresh .venv: set up
    assert setup(root).returncode == 0 and installs(calls) == 1  # set up already: nothing runs
    with open(root / "pyproject.toml", "a") as f:
        f.write("\n# a dependency changed\n")
    assert setup(root).returncode == 0 and installs(calls) == 2  # pyproject.toml changed: set up again
    assert setup(root).returncode == 0 and installs(calls) == 2
    assert setup(root, "--force").returncode == 0 and installs(calls) == 3
    (root / ".venv" / "bin" / "liveai").unlink()  # an environment that lost liveai: set up again
    assert setup(root).returncode == 0 and installs(calls) == 4


def test_setup_refuses_an_unknown_option(tmp_path):
    root, calls = copy(tmp_path)
    done = setup(root, "--fast")
    assert done.returncode == 2 and "unknown option --fast" in done.stderr and installs(calls) == 0
