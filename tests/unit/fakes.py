"""In-memory fakes for unit tests of the pure core: a clock and an output sink."""

from __future__ import annotations

from liveai.config import Config
from liveai.core.engine import Engine
from liveai.events import Event, NoteOff, NoteOn


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Sink:
    """Records what the engine sends, with the fake time it was sent at."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, Event]] = []

    def __call__(self, event: Event) -> None:
        self.sent.append((self.clock.t, event))

    def events(self) -> list[Event]:
        return [e for _, e in self.sent]

    def sounding(self) -> set[tuple[int, int]]:
        """(channel, pitch) a listener would hear as sounding after everything sent."""
        on: set[tuple[int, int]] = set()
        for event in self.events():
            if isinstance(event, NoteOn) and event.velocity > 0:
                on.add((event.channel, event.pitch))
            elif isinstance(event, (NoteOn, NoteOff)):
                on.discard((event.channel, event.pitch))
        return on


def make_engine(config: Config | None = None) -> tuple[Engine, FakeClock, Sink]:
    clock = FakeClock()
    engine = Engine(config or Config(), now=clock)
    sink = Sink(clock)
    engine.sinks.append(sink)
    return engine, clock, sink


def run_until(engine: Engine, clock: FakeClock, until: float) -> None:
    """Drive the scheduler like the server's timer does, jumping the fake clock."""
    while (next_at := engine.scheduler.next_time()) is not None and next_at <= until:
        clock.t = max(clock.t, next_at)
        engine.run_due()
    clock.t = until
