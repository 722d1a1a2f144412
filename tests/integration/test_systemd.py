"""`liveai serve` under systemd's notify protocol, with a datagram socket standing in for
systemd: READY once it serves, WATCHDOG at half WATCHDOG_USEC while its parts live,
STATUS as it goes, STOPPING at shutdown.

A render process stopped with SIGSTOP stops the pings, and they come back with SIGCONT:
a hung part, in a real server, with no hook for it. The model worker is a thread, which
no signal stops alone: tests/unit/runtime/test_watchdog.py freezes the real worker with
a job that blocks. The restart that withheld pings bring is not tested: systemd is not
PID 1 here (`systemd-run` says "System has not been booted with systemd as init
system"), and one booted in a PID namespace boots the whole machine's units (CHANGELOG)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from conftest import wait_until

from liveai.bench.notify import NotifySocket

WATCHDOG_USEC = 1_000_000  # pings every 0.5 s
NO_JACK = {"JACK_DEFAULT_SERVER": "liveai-no-such-server", "JACK_NO_START_SERVER": "1"}


def test_ready_then_watchdog_pings_then_stopping(start_server):
    systemd = NotifySocket()
    try:
        env = {"NOTIFY_SOCKET": systemd.name, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        server, peer = start_server(model="gru", env=env)  # returns once it answers a ping
        ready = systemd.wait(lambda m: m.startswith("READY=1"), "READY=1")
        ready_at, said = systemd.got[ready]
        # loading first, then ready with what it serves; no ping before it is ready
        assert systemd.messages()[:ready] == ["STATUS=loading the models"]
        assert said == "READY=1\nSTATUS=serving: mode harmonize, model gru"

        peer.send("/liveai/mode", "thru")
        systemd.wait(lambda m: m == "STATUS=serving: mode thru, model gru", "the new mode in STATUS=")
        window = 3.0
        wait_until(lambda: time.monotonic() > ready_at + window + 0.2, window + 1, "the window")
        pings = [t for t, m in list(systemd.got) if m == "WATCHDOG=1" and ready_at <= t <= ready_at + window]
        # every 0.5 s: 7 in 3 s, counted loosely (a busy machine delays a tick, never adds one)
        assert 3 <= len(pings) <= 8, systemd.got
        status = peer.status()
        assert status["watchdog_withheld"] == 0 and status["watchdog_pings"] >= len(pings)

        assert server.stop() == 0
        stopping = systemd.wait(lambda m: m.startswith("STOPPING=1"), "STOPPING=1")
        assert systemd.messages()[stopping] == "STOPPING=1\nSTATUS=stopping"
        assert "WATCHDOG=1" not in systemd.messages()[stopping:]  # systemd stops watching there
    finally:
        systemd.close()


def child_running(parent: int, module: str) -> int | None:
    """The pid of `parent`'s child process running `python -m module`, if any."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and module.encode() in cmdline:
            return int(entry)
    return None


def test_a_stopped_render_process_stops_the_pings(start_server):
    systemd = NotifySocket()
    try:
        env = {**NO_JACK, "NOTIFY_SOCKET": systemd.name, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        server, peer = start_server("audio.enabled=true", 'server.mode="thru"', env=env)
        assert server.proc is not None
        # no device here: the render process runs (torch loaded, a few seconds), no stream
        wait_until(lambda: peer.status()["audio"] == "no device", 30, "the render process to run")
        systemd.wait(
            lambda m: m == "STATUS=serving: mode thru, audio no device", "the audio state in STATUS="
        )
        render = child_running(server.proc.pid, "liveai.audio.render_process")
        assert render is not None
        os.kill(render, signal.SIGSTOP)
        try:
            wait_until(lambda: peer.status()["watchdog_withheld"] > 0, 10, "a tick withheld")
            since = len(systemd.messages())
            wait_until(lambda: peer.status()["watchdog_withheld"] >= 3, 10, "more ticks withheld")
            assert "WATCHDOG=1" not in systemd.messages()[since:]
        finally:
            os.kill(render, signal.SIGCONT)
        since = len(systemd.messages())
        wait_until(lambda: "WATCHDOG=1" in systemd.messages()[since:], 10, "a ping once it runs again")
        assert "silent: the render process" in server.log()
        assert server.stop() == 0
    finally:
        systemd.close()
