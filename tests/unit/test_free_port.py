"""Ports for the servers tests and benches start: free, out of the range the kernel gives
clients' source ports, and never the same twice across processes that ask at once
(scripts/test runs two lanes of tests and their benches side by side)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from liveai.bench import harness

ASK = "from liveai.bench.harness import free_port; print(*(free_port() for _ in range(200)))"


def test_processes_asking_at_once_never_get_the_same_port():
    asking = [
        subprocess.Popen([sys.executable, "-c", ASK], stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    ports = [int(p) for proc in asking for p in proc.communicate(timeout=60)[0].split()]
    assert len(ports) == 800 and len(set(ports)) == 800
    low, high = harness.PORTS
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert all(low <= p < high <= ephemeral_low + 1 for p in ports)


def test_a_port_in_use_is_passed_over(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "PORTS_FILE", tmp_path / "ports")
    first = harness.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", first + 1))
        (tmp_path / "ports").write_text(str(first))  # the counter's next is the taken one
        assert harness.free_port() == first + 2
    (tmp_path / "ports").write_text(str(harness.PORTS[1] - 1))  # at the top it wraps round
    assert harness.free_port() == harness.PORTS[0]
