"""`pip install .` into a fresh virtual environment serves with the shipped GRU: the
models travel inside the wheel, not only in a checkout or an editable install.

The wheel goes in without its dependencies, which the new environment borrows from the
project's (copying torch into it cost a minute); CI's fresh clone installs them from the
registries with scripts/setup at every run, and the wheel must declare what it needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from liveai.bench.harness import OscPeer, ServerProcess, free_port

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_serves_with_the_gru(tmp_path: Path, monkeypatch):
    source = tmp_path / "source"  # a copy: an in-tree build/ would keep files the tree no longer has
    for name in ("liveai", "models"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("liveai-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA")))
    declared = {
        Requirement(line.split(": ", 1)[1])
        for line in metadata.decode().splitlines()
        if line.startswith("Requires-Dist") and "extra ==" not in line
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {str(r) for r in declared} == {str(Requirement(d)) for d in project["dependencies"]}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # the dependencies from the project's environment, after the new one's own packages
    (Path(next(venv.glob("lib/python*/site-packages"))) / "borrowed.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True
    )
    away = tmp_path / "elsewhere"  # no checkout in sight: only the installed package
    away.mkdir()
    monkeypatch.delenv("PYTHONPATH", raising=False)
    port = free_port()
    with OscPeer(port) as peer:
        server = ServerProcess(
            [f"osc.port={port}", f'osc.targets=["127.0.0.1:{peer.port}"]', "midi.api=none"],
            command=[str(venv / "bin" / "liveai")],
            cwd=away,
            log_path=tmp_path / "server.log",
        ).start()
        try:
            peer.wait_pong(timeout=60)
            status = peer.status()
        finally:
            assert server.stop() == 0, server.log()
    log = server.log()
    assert f"model gru (gru, int8, TorchScript) from {venv}" in log, log  # the wheel's own copy
    assert status["model_gru_device"] == "cpu" and status["mode"] == "harmonize"
