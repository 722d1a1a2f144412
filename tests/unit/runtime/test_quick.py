"""Quick calls (`Worker.submit(..., quick=True)`): at once on the caller's thread while
the worker is idle, else on the worker in their session's order; the same chords
either way."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from fakes import tiny_harmony, tiny_model

from liveai.behaviours.registry import Registry
from liveai.config import Config
from liveai.core.engine import Engine
from liveai.events import NoteOff, NoteOn
from liveai.runtime.port import WorkerPort
from liveai.runtime.stepper import TokenStepper
from liveai.runtime.worker import QUICK_LIMIT_S, QUICK_RECENT, Worker

HERE = threading.get_ident()
MELODY = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62]


@pytest.fixture
def worker():
    w = Worker(TokenStepper(tiny_model("gru"), name="gru"))
    w.start(warmup_steps=3)
    yield w
    w.close()


def idle(worker: Worker) -> None:
    """Wait until the worker thread has nothing left to do (it parks, letting go of the states)."""
    with worker._owner:
        pass


def spin(cpu_s: float) -> None:
    """Use the CPU for `cpu_s` seconds (a slow call)."""
    end = time.thread_time() + cpu_s
    while time.thread_time() < end:
        pass


def test_a_quick_call_runs_at_once_here_when_the_worker_is_idle(worker):
    idle(worker)
    now = worker.submit("a", threading.get_ident, quick=True)
    assert now.done() and now.result() == HERE
    assert worker.submit("a", threading.get_ident).result(5) != HERE  # not quick: on the worker
    assert worker.stats()["model_gru_ran_now"] == 1


def test_a_quick_call_waits_on_the_worker_behind_the_jobs_before_it(worker):
    gate, order = threading.Event(), []
    slow = worker.submit("a", lambda: gate.wait(5) and order.append("slow"))
    quick = worker.submit("a", lambda: order.append("quick") or threading.get_ident(), quick=True)
    other = worker.submit("b", threading.get_ident, quick=True)  # another session: the worker is busy
    assert not quick.done() and not other.done()
    gate.set()
    assert quick.result(5) != HERE and other.result(5) != HERE and slow.result(5) is None
    assert order == ["slow", "quick"]
    assert worker.stats()["model_gru_ran_now"] == 0


def test_quick_calls_that_turn_slow_go_to_the_worker_until_quick_again(worker):
    for _ in range(QUICK_RECENT):
        idle(worker)
        worker.submit("a", lambda: spin(2 * QUICK_LIMIT_S), quick=True).result(5)
    idle(worker)
    assert worker.submit("a", threading.get_ident, quick=True).result(5) != HERE  # the loop is spared
    for _ in range(QUICK_RECENT // 2 + 1):  # timed on the worker meanwhile
        worker.submit("a", threading.get_ident, quick=True).result(5)
    idle(worker)
    assert worker.submit("a", threading.get_ident, quick=True).result(5) == HERE


async def harmonize(busy: bool) -> tuple[list[list[int]], int]:
    """Play the melody to a harmonizer on a real worker (the worker held busy by another
    session at each note, or idle); the chords answered, and how many calls ran at once."""
    config = Config()
    config.server.mode, config.model.seed = "harmonize", 1
    config.budget.harmonize_ms = 60_000  # what is chosen, not how fast
    worker = Worker(TokenStepper(tiny_model("gru"), name="gru"))
    worker.start(warmup_steps=3)
    try:
        engine = Engine(
            config,
            now=time.monotonic,
            behaviours=Registry(harmony=tiny_harmony()),
            models=WorkerPort(worker, asyncio.get_running_loop()),
        )
        sent: list = []
        engine.output.sinks.append(sent.append)
        engine.start()
        chords = []
        for pitch in MELODY:
            gate = threading.Event()
            if busy:
                worker.submit("another player", gate.wait)
            else:
                idle(worker)
            sent.clear()
            engine.handle(NoteOn(pitch, 90, t=time.monotonic(), source="osc:p:1"))
            gate.set()
            for _ in range(2000):
                voices = [e.pitch for e in sent if isinstance(e, NoteOn) and e.velocity and e.pitch != pitch]
                if voices:
                    break
                await asyncio.sleep(0.001)
            chords.append(voices)
            if not voices:
                break  # unanswered: the test fails
            engine.handle(NoteOff(pitch, t=time.monotonic(), source="osc:p:1"))
        return chords, worker.stats()["model_gru_ran_now"]
    finally:
        worker.close()


async def test_harmonize_answers_the_same_chords_at_once_or_on_the_worker():
    at_once, ran_now = await harmonize(busy=False)
    on_worker, ran_on_worker = await harmonize(busy=True)
    assert all(at_once) and at_once == on_worker
    assert len({tuple(c) for c in at_once}) >= 3  # the seed's choices, not one chord throughout
    assert ran_now == len(MELODY) and ran_on_worker == 0
