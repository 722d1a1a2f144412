"""A model switch on a real engine and worker (tiny untrained models): every session
keeps its notes, none is ended, and each session's model state is primed again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fakes import tiny_model

from liveai.behaviours.registry import Registry
from liveai.config import Config
from liveai.core.commands import Request
from liveai.core.engine import Engine
from liveai.errors import CommandError
from liveai.events import NoteOff, NoteOn
from liveai.live.switch import ModelSwitch
from liveai.runtime.port import WorkerPort
from liveai.runtime.reload import Built
from liveai.runtime.stepper import TokenStepper
from liveai.runtime.worker import Worker


async def settle(engine: Engine, seconds: float = 0.2) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        engine.run_due()
        await asyncio.sleep(0.005)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    models = tmp_path / "liveai" / "models"
    models.mkdir(parents=True)
    (models / "mine.pt").write_bytes(b"")  # found by name; its weights are built below
    return models


async def test_a_switch_keeps_every_sessions_notes_and_ends_none(folder, monkeypatch):
    config = Config()
    config.server.sessions = "per_source"
    config.harmonize.by = "continuation"
    config.budget.harmonize_ms = 1000.0
    worker = Worker(TokenStepper(tiny_model(), name="gru"))
    worker.start(warmup_steps=2)
    try:
        engine = Engine(
            config,
            now=time.monotonic,
            behaviours=Registry(),
            models=WorkerPort(worker, asyncio.get_running_loop()),
        )
        sent = []
        engine.output.sinks.append(sent.append)
        engine.start()
        players = ("osc:10.0.0.1:1", "osc:10.0.0.2:1")
        for i, player in enumerate(players):  # each holds a chord: notes and their answers sound
            for pitch in (60 + i, 64 + i, 67 + i):
                engine.handle(NoteOn(pitch, 90, t=time.monotonic(), source=player))
                await settle(engine, 0.05)
        await settle(engine)
        sounding = set(engine.output.tracker.sounding)
        held = {s.key: dict(s.held) for s in engine.sessions}
        assert len(held) == 2 and all(len(notes) == 3 for notes in held.values())
        new = tiny_model()
        monkeypatch.setattr(ModelSwitch, "_build", lambda self, path: Built(new, {"arch": "gru"}))
        switch = ModelSwitch(config, engine, worker)
        finished = asyncio.get_running_loop().create_future()
        count = len(sent)
        steps_before = worker.stats()["model_gru_steps"]
        switch.switch("mine", done=finished.set_result)
        assert await asyncio.wait_for(finished, 10) is True
        await settle(engine)
        assert worker.stepper.model is new and switch.current == "mine" and engine.state["model"] == "mine"
        assert not [
            e for e in sent[count:] if isinstance(e, NoteOff) or (isinstance(e, NoteOn) and e.velocity == 0)
        ]
        assert set(engine.output.tracker.sounding) == sounding  # nothing ended, nothing stuck
        assert {s.key: dict(s.held) for s in engine.sessions} == held  # the sessions still hold them
        stats = worker.stats()  # the figures are the model playing's, under its name, counted from the switch
        assert stats["model_mine_sessions"] == 2  # both primed again on the new model
        assert (
            not [k for k in stats if k.startswith("model_gru_")] and stats["model_mine_steps"] < steps_before
        )
        for i, player in enumerate(players):  # the keys go up: everything ends, as without a switch
            for pitch in (60 + i, 64 + i, 67 + i):
                engine.handle(NoteOff(pitch, t=time.monotonic(), source=player))
        await settle(engine)
        assert not engine.output.tracker.sounding
        assert switch.earlier[-1] == "gru"
    finally:
        worker.close()


def endless(gate):
    """A long job in a session (a duet continuation), until the gate opens."""
    while not gate.is_set():
        yield 60


async def test_one_players_long_job_during_a_switch_holds_back_no_other_player(folder, monkeypatch):
    import threading

    config = Config()
    config.server.sessions = "per_source"
    config.harmonize.by = "continuation"
    config.budget.harmonize_ms = 1000.0
    worker = Worker(TokenStepper(tiny_model(), name="gru"))
    worker.start(warmup_steps=2)
    gate = threading.Event()
    try:
        engine = Engine(
            config,
            now=time.monotonic,
            behaviours=Registry(),
            models=WorkerPort(worker, asyncio.get_running_loop()),
        )
        sent = []
        engine.output.sinks.append(sent.append)
        engine.start()
        busy, other = "osc:10.0.0.1:1", "osc:10.0.0.2:1"
        for player in (busy, other):
            engine.handle(NoteOn(60, 90, t=time.monotonic(), source=player))
            await settle(engine, 0.05)
        await settle(engine)
        held = {s.key: dict(s.held) for s in engine.sessions}
        long = worker.submit(engine.sessions.key(busy), endless(gate))  # the session its model jobs go to
        new = tiny_model()
        monkeypatch.setattr(ModelSwitch, "_build", lambda self, path: Built(new, {"arch": "gru"}))
        switch = ModelSwitch(config, engine, worker)
        finished = asyncio.get_running_loop().create_future()
        switch.switch("mine", done=finished.set_result)
        for _ in range(500):  # until the hand-over has begun (the old worker waited for every job)
            if worker.stepper.model is new:
                break
            await settle(engine, 0.01)
        count = len(sent)
        engine.handle(NoteOn(64, 90, t=time.monotonic(), source=other))  # the other player plays on
        await settle(engine, 0.5)
        assert not long.done() and not finished.done()  # the long job still runs: the hand-over goes on
        assert [e for e in sent[count:] if isinstance(e, NoteOn) and e.velocity and e.pitch != 64]  # answered
        assert engine.stats.counters.get("deadline_misses", 0) == 0  # by the model, not the rule
        gate.set()
        assert await asyncio.wait_for(finished, 10) is True and long.result(5) is None
        engine.handle(NoteOff(64, t=time.monotonic(), source=other))
        await settle(engine)
        assert {s.key: dict(s.held) for s in engine.sessions} == held  # every session keeps its notes
        assert not [e for e in sent[count:] if isinstance(e, NoteOff) and e.pitch == 60]  # none ended
    finally:
        gate.set()
        worker.close()


async def test_names_are_confined_and_a_broken_file_leaves_the_model(folder):
    (folder / "broken.pt").write_bytes(b"not a checkpoint")
    (folder.parent / "outside.pt").write_bytes(b"")  # a file next to the folder is not the folder's
    worker = Worker(TokenStepper(tiny_model(), name="gru"))
    worker.start(warmup_steps=1)
    try:
        engine = Engine(Config(), now=time.monotonic, behaviours=Registry())
        switch = ModelSwitch(Config(), engine, worker)
        for name in (
            "../outside",
            str(folder.parent / "outside"),
            "../mine",
            "mine.pt",
            ".hidden",
            "nosuch",
            "vae",
            "harmony",
        ):
            with pytest.raises(CommandError) as refused:
                switch.switch(name)
            assert refused.value.code == "bad_value", name
        finished = asyncio.get_running_loop().create_future()
        switch.switch("broken", done=finished.set_result)
        assert await asyncio.wait_for(finished, 10) is False
        assert switch.current == "gru" and worker.stepper.model is not None and not switch.earlier
    finally:
        worker.close()


class Refusals:
    def __init__(self) -> None:
        self.refused: list[CommandError] = []

    def refuse(self, request, command, error) -> None:
        self.refused.append(error)


async def test_a_bug_in_a_switch_is_answered_counted_and_the_model_stays(folder, monkeypatch):
    worker = Worker(TokenStepper(tiny_model(), name="gru"))
    worker.start(warmup_steps=1)
    try:
        engine = Engine(Config(), now=time.monotonic, behaviours=Registry())

        def broken(self, path):
            raise AttributeError("'NoneType' object has no attribute 'eval'")  # a bug, not a bad file

        monkeypatch.setattr(ModelSwitch, "_build", broken)
        switch = ModelSwitch(Config(), engine, worker)
        replies = Refusals()
        finished = asyncio.get_running_loop().create_future()
        switch.switch("mine", Request("osc:127.0.0.1:9", time.monotonic(), replies), done=finished.set_result)
        assert await asyncio.wait_for(finished, 10) is False  # the learning's stage ends: it hears
        assert [e.code for e in replies.refused] == ["internal"] and "NoneType" in replies.refused[0].message
        assert engine.stats.counters["internal_errors"] == 1
        assert not switch.busy and switch.current == "gru" and worker.stepper.model is not None
        monkeypatch.setattr(ModelSwitch, "_build", lambda self, path: Built(tiny_model(), {"arch": "gru"}))
        again = asyncio.get_running_loop().create_future()
        switch.switch("mine", done=again.set_result)  # the next switch works
        assert await asyncio.wait_for(again, 10) is True
    finally:
        worker.close()
