"""Ports for the servers tests and benches start: free, out of the range the kernel gives
clients' source ports, and never the same twice across processes that ask at once
(scripts/test runs two lanes of tests and their benches side by side)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from liveai.bench import harness

ASK = "from liveai.bench.harness import free_port; print(*(free_port() for _ in range(200)))"


def test_processes_asking_at_once_never_get_the_same_port():
    asking = [
        subprocess.Popen([sys.executable, "-c", ASK], stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    answers = [proc.communicate(timeout=60)[0] for proc in asking]
    assert [proc.returncode for proc in asking] == [0, 0, 0, 0]
    ports = [int(p) for answer in answers for p in answer.split()]
    assert len(ports) == 800 and len(set(ports)) == 800
    low, high = harness.PORTS
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert high <= ephemeral_low and all(low <= p < high for p in ports)
    assert not low <= 20808 < high  # Ableton Link's discovery port


def test_a_port_in_use_is_passed_over_and_the_counter_wraps(tmp_path, monkeypatch):
    low, high = harness.PORTS
    taken = {low + 11, low}
    monkeypatch.setattr(harness, "PORTS_FILE", tmp_path / "ports")
    monkeypatch.setattr(harness, "_free", lambda port, kind: port not in taken)
    (tmp_path / "ports").write_text(str(low + 10))  # the next one is taken
    assert harness.free_port() == low + 12
    assert (tmp_path / "ports").read_text() == str(low + 12)
    (tmp_path / "ports").write_text(str(high - 1))  # at the top it wraps round, past a taken one
    assert harness.free_port() == low + 1
    (tmp_path / "ports").write_bytes(b"\xff garbage")  # a counter that is not a number: anywhere
    assert low <= harness.free_port() < high
