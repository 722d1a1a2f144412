"""The duet played offline: the real engine and behaviours on a fake clock, with a model
run inline, so an evaluation can play phrases in and read the answers back exactly as
a live session would, only faster and repeatable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..behaviours.registry import Registry
from ..config import Config
from ..core.engine import Engine
from ..events import Event, NoteOff, NoteOn
from ..music.note import Note
from ..runtime.inline import InlinePort

PLAYER = "osc:player:1"


class SimulatedClock:
    """The engine's clock in an offline duet: time moves only when `advance` sets `t`,
    so a duet is played as fast as the models step."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class OfflineDuet:
    def __init__(self, model: Any, config: Config | None = None) -> None:
        self.config = config or Config()
        self.config.server.mode = "duet"
        self.clock = SimulatedClock()
        self.port = InlinePort(model)
        self.engine = Engine(self.config, now=self.clock, behaviours=Registry(), models=self.port)
        self.sent: list[tuple[float, Event]] = []
        self.engine.output.sinks.append(lambda event: self.sent.append((self.clock.t, event)))
        self.engine.start()

    def advance(self, until: float, step: float = 0.01) -> None:
        """Run the scheduler and deliver model answers up to `until`."""
        while True:
            self.port.flush()
            next_at = self.engine.output.scheduler.next_time()
            target = (
                min(until, self.clock.t + step) if next_at is None else min(until, max(next_at, self.clock.t))
            )
            self.clock.t = max(self.clock.t, target)
            self.engine.run_due()
            if self.clock.t >= until:
                self.port.flush()
                return

    def play(self, notes: Sequence[Note], at: float) -> float:
        """Play `notes` (times relative to `at`) as the player; returns when the last ends."""
        events = sorted(
            [(at + n.start, 1, n) for n in notes] + [(at + n.end, 0, n) for n in notes],
            key=lambda e: (e[0], e[1]),
        )
        for t, is_on, n in events:
            self.advance(t)
            event: Event = (
                NoteOn(n.pitch, n.velocity, t=t, source=PLAYER)
                if is_on
                else NoteOff(n.pitch, t=t, source=PLAYER)
            )
            self.engine.handle(event)
            self.port.flush()
        return events[-1][0] if events else at

    def answer_after(self, t: float) -> list[Note]:
        """The notes liveai played that began at or after `t`."""
        open_: dict[int, tuple[float, int]] = {}
        out = []
        for when, e in self.sent:
            if isinstance(e, NoteOn) and e.velocity > 0:
                open_[e.pitch] = (when, e.velocity)
            elif isinstance(e, (NoteOn, NoteOff)) and e.pitch in open_:
                start, velocity = open_.pop(e.pitch)
                if start >= t:
                    out.append(Note(start, when, e.pitch, velocity))
        return sorted(out)

    def sounding(self) -> set[tuple[int, int]]:
        return set(self.engine.output.tracker.sounding)
