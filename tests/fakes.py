"""In-memory fakes for unit tests of the pure core: a clock, an output sink, a model port
that runs jobs inline."""

from __future__ import annotations

from liveai.behaviours.phrases import PhraseReader
from liveai.behaviours.registry import Registry
from liveai.bench.offline_duet import SimulatedClock
from liveai.config import Config
from liveai.core.engine import Engine
from liveai.events import ControlChange, Event, NoteOff, NoteOn
from liveai.runtime.inline import InlinePort


class Sink:
    """Records what the engine sends, with the fake time it was sent at, and hears it as
    a strict synth would: `stacked` counts note-ons for a note already sounding."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, Event]] = []
        self._sounding: set[tuple[int, int]] = set()
        self._pedal: set[int] = set()
        self.stacked = 0

    def __call__(self, event: Event) -> None:
        self.sent.append((self.clock.t, event))
        if isinstance(event, NoteOn) and event.velocity > 0:
            key = (event.channel, event.pitch)
            self.stacked += key in self._sounding
            self._sounding.add(key)
        elif isinstance(event, (NoteOn, NoteOff)):
            self._sounding.discard((event.channel, event.pitch))
        elif isinstance(event, ControlChange) and event.controller in (64, 121):  # 121 resets the pedal
            down = event.controller == 64 and event.value >= 64
            (self._pedal.add if down else self._pedal.discard)(event.channel)

    def events(self) -> list[Event]:
        return [e for _, e in self.sent]

    def sounding(self) -> set[tuple[int, int]]:
        """(channel, pitch) a listener would hear as sounding after everything sent."""
        return set(self._sounding)

    def pedal(self) -> set[int]:
        """Channels whose sustain pedal is down at the synth."""
        return set(self._pedal)


def make_engine(config: Config | None = None) -> tuple[Engine, SimulatedClock, Sink]:
    clock = SimulatedClock(100.0)
    engine = Engine(config or Config(), now=clock, behaviours=Registry())
    sink = Sink(clock)
    engine.output.sinks.append(sink)
    return engine, clock, sink


def run_until(engine: Engine, clock: SimulatedClock, until: float) -> None:
    """Drive the scheduler like the server's timer does, jumping the fake clock."""
    while (next_at := engine.output.scheduler.next_time()) is not None and next_at <= until:
        clock.t = max(clock.t, next_at)
        engine.run_due()
    clock.t = until


def tiny_model(arch: str = "gru"):
    import torch

    from liveai.models.checkpoint import build_model

    torch.manual_seed(0)
    config = (
        {"hidden": 32, "layers": 1}
        if arch == "gru"
        else {"d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64, "window": 16}
    )
    return build_model(arch, config).eval()


def tiny_vae():
    import torch

    from liveai.models.checkpoint import build_model

    torch.manual_seed(0)
    return build_model("vae", {"embed": 16, "encoder_hidden": 32, "latent": 8, "decoder_hidden": 32}).eval()


def tiny_harmony(voicings=((7, 3), (9, 5), (8, 3), (12, 7), (16, 12), (5, 1), (2, 1), (7,), (12, 7, 3))):
    """An untrained harmony model over a few voicings (a cluster and a second among them)."""
    import torch

    from liveai.models.checkpoint import build_model

    torch.manual_seed(0)
    return build_model("harmony", {"voicings": [list(v) for v in voicings], "hidden": 16}).eval()


def make_model_engine(mode: str = "harmonize", vae=None, harmony=None, reader=None, **overrides):
    """An engine with a model port on a tiny untrained model, a fake clock and a sink
    (`vae`: a morph model, for morph mode; `harmony`: the harmony model; `reader`: the
    phrase reader, by default one whose answers wait for the port's flush)."""
    config = Config()
    config.server.mode = mode
    config.model.seed = 1
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        setattr(getattr(config, section), key, value)
    clock = SimulatedClock(100.0)
    port = InlinePort(tiny_model())
    reader = reader or PhraseReader(post=lambda call: port.pending.append((lambda _: call(), None)))
    registry = Registry(vae=vae, harmony=harmony, reader=reader)
    engine = Engine(config, now=clock, behaviours=registry, models=port)
    sink = Sink(clock)
    engine.output.sinks.append(sink)
    engine.start()
    return engine, clock, sink, port
