"""systemd's watchdog pings only while each part shows life: the real model worker,
frozen by a job that blocks (as a hung one would), and the render process's loop on a
real ring. The ticks are driven by hand at chosen times; the pings go to a real socket.

The frozen worker is tested here, in-process, and not in a served liveai: freezing the
worker of a running server would take a command that hangs it on purpose, a hazard no
production server should carry. tests/integration/test_systemd.py checks the healthy
path end to end."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import pytest
import torch

from liveai.audio.link import SynthLink
from liveai.audio.render_process import RenderLoop
from liveai.audio.renderer import SynthRenderer
from liveai.audio.timeline import Timeline
from liveai.audio.wire import RecordReader
from liveai.config import AudioConfig
from liveai.models.checkpoint import build_model
from liveai.models.synth import SynthConfig, SynthNet
from liveai.runtime.stepper import TokenStepper
from liveai.runtime.systemd import Notifier
from liveai.runtime.watchdog import Watchdog, WorkerProbe
from liveai.runtime.worker import Worker

INTERVAL_S = 1.0


@pytest.fixture
def systemd(tmp_path):
    """The socket systemd would read, and liveai's notifier pointed at it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setblocking(False)
    notifier = Notifier(str(tmp_path / "notify"))
    yield sock, notifier
    notifier.close()
    sock.close()


def received(sock: socket.socket) -> list[str]:
    """What reached the socket so far (a local datagram is there once sendto returns)."""
    got = []
    while True:
        try:
            got.append(sock.recv(4096).decode())
        except BlockingIOError:
            return got


@pytest.fixture
def worker():
    torch.manual_seed(0)
    w = Worker(TokenStepper(build_model("gru", {"hidden": 32, "layers": 1}).eval(), name="gru"))
    w.start(warmup_steps=3)
    yield w
    w.close()


def test_a_frozen_worker_stops_the_pings_until_it_answers_again(worker, systemd, caplog):
    sock, notifier = systemd
    clock = [0.0]  # the time the ticks, and the probes the worker runs, read
    probe = WorkerProbe(worker, clock=lambda: clock[0])
    dog = Watchdog(notifier, INTERVAL_S, {"the model worker": probe})

    def tick(t: float, answered: bool = True) -> bool:
        clock[0] = t
        ok = dog.tick(t)
        if answered:  # a free worker answers the probe before the next tick
            probe.future.result(5)
        return ok

    assert [tick(t) for t in (0.0, 0.5, 1.0)] == [True, True, True]

    inside, gate = threading.Event(), threading.Event()
    worker.submit("player", lambda: (inside.set(), gate.wait()))  # a job that hangs
    assert inside.wait(5)
    with caplog.at_level(logging.INFO, logger="liveai.runtime.watchdog"):
        # its last answer was at 1.0: silent for more than the interval from 2.5 on
        frozen = [tick(t, answered=False) for t in (1.5, 2.0, 2.5, 3.0, 3.5)]
        assert frozen == [True, True, False, False, False]
        gate.set()
        probe.future.result(5)  # the probe sent at 1.5 is answered (at 3.5) once the job ends
        assert tick(4.0, answered=False)
    assert received(sock) == ["WATCHDOG=1"] * 6
    assert dog.status() == {"watchdog_pings": 6, "watchdog_withheld": 3}
    said = [r.getMessage() for r in caplog.records]
    assert len([m for m in said if "silent: the model worker (1.5 s)" in m]) == 1  # once, not per tick
    assert any("shows life again" in m for m in said)


def test_a_render_process_that_stops_turning_stops_the_pings(systemd, tmp_path):
    sock, notifier = systemd
    link = SynthLink(AudioConfig(), tmp_path / "synth.pt")  # its processes are never started
    events_r, events_w = os.pipe()
    wake_r, wake_w = os.pipe()
    net = SynthNet(SynthConfig(channels=4, skip=4, dilations=(1, 2)))
    timeline = Timeline(SynthRenderer(net, scripted=False), link.ring, 256, 0.002)
    render = RenderLoop(timeline, RecordReader(events_r), wake_r)
    try:
        dog = Watchdog(notifier, INTERVAL_S, {"the render process": link.render_seen})
        assert dog.tick(time.monotonic())  # none runs (the supervisor starts one): nothing to hear
        link.ring.header.render_pid = 4242  # one runs, as the render process says once ready
        render.turn()
        assert dog.tick(time.monotonic())
        assert not dog.tick(time.monotonic() + 1.5 * INTERVAL_S)  # no turn since
        render.turn()
        assert dog.tick(time.monotonic())
        assert received(sock) == ["WATCHDOG=1"] * 3 and dog.withheld == 1
    finally:
        for fd in (events_r, events_w, wake_r, wake_w):
            os.close(fd)
        link.close()
