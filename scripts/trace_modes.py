#!/usr/bin/env python
"""Every mode's whole output on the fake clock, as text and a digest: a refactor's
before and after (the same digest: the same notes, times and velocities).

    .venv/bin/python scripts/trace_modes.py [--out runs/trace] [--models models]

The real engine, registry and behaviours play a fixed script (chords, a re-strike, the
sustain pedal, a note-off while the pedal holds, two players with sessions of their
own, a lost input, a capture, a panic, a mode change) with the shipped models run
inline (liveai.runtime.inline), seeded. Each mode's events (time, event, origin,
source) are written to <out>/<mode>.txt; the digests are printed as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveai.behaviours.registry import Registry  # noqa: E402
from liveai.config import Config  # noqa: E402
from liveai.control.handlers import definitions  # noqa: E402
from liveai.control.table import CommandTable  # noqa: E402
from liveai.core.commands import Request  # noqa: E402
from liveai.core.engine import Engine  # noqa: E402
from liveai.errors import CommandError  # noqa: E402
from liveai.events import ControlChange, InputLost, NoteOff, NoteOn  # noqa: E402
from liveai.models.checkpoint import load_checkpoint  # noqa: E402
from liveai.runtime.inline import InlinePort  # noqa: E402

A, B, KEYS = "osc:10.0.0.1:7000", "osc:10.0.0.2:7001", "midi:keys"
RUNS = {  # name: (mode, harmonize.by, sessions)
    "thru": ("thru", "rule", "shared"),
    "rule": ("harmonize", "rule", "shared"),
    "continuation": ("harmonize", "continuation", "shared"),
    "harmony": ("harmonize", "harmony", "shared"),
    "harmony_per_source": ("harmonize", "harmony", "per_source"),
    "duet": ("duet", "rule", "shared"),
    "duet_per_source": ("duet", "rule", "per_source"),
    "autopilot": ("autopilot", "rule", "shared"),
    "morph": ("thru", "rule", "shared"),
}


class Replies:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def reply(self, address: str, *args: Any) -> None:
        self.log.append(f"reply {address} {args}")

    def refuse(self, request: Request, command: str, error: CommandError) -> None:
        self.log.append(f"refused {command} {error.code}")


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Play:
    def __init__(self, models: dict[str, Any], mode: str, by: str, sessions: str) -> None:
        torch.manual_seed(0)
        config = Config()
        config.server.mode = mode
        config.server.sessions = sessions
        config.harmonize.by = by
        config.model.seed = 1
        self.clock = Clock()
        self.port = InlinePort(models["gru"])
        harmony = models["harmony"] if by == "harmony" else None
        registry = Registry(vae=models["vae"], harmony=harmony)
        self.engine = Engine(config, now=self.clock, behaviours=registry, models=self.port)
        self.table = CommandTable(self.engine, definitions(registry.commands()))
        self.log: list[str] = []
        self.engine.output.sinks.append(
            lambda e: self.log.append(f"{self.clock.t:.6f} {e!r} origin={e.origin} source={e.source}")
        )
        self.engine.start()

    def advance(self, seconds: float, step: float = 0.005) -> None:
        end = self.clock.t + seconds
        while self.clock.t < end - 1e-9:
            self.port.flush()
            nxt = self.engine.output.scheduler.next_time()
            target = min(end, self.clock.t + step)
            if nxt is not None and nxt < target:
                target = max(nxt, self.clock.t)
            self.clock.t = target
            self.engine.run_due()
        self.port.flush()

    def on(self, pitch: int, velocity: int = 80, source: str = A, channel: int = 0) -> None:
        self.engine.handle(NoteOn(pitch, velocity, channel, t=self.clock.t, source=source))
        self.port.flush()

    def off(self, pitch: int, source: str = A, channel: int = 0) -> None:
        self.engine.handle(NoteOff(pitch, channel, t=self.clock.t, source=source))
        self.port.flush()

    def pedal(self, down: bool, source: str = A) -> None:
        self.engine.handle(ControlChange(64, 127 if down else 0, t=self.clock.t, source=source))

    def command(self, address: str, *args: Any, source: str = A) -> None:
        try:
            self.table.dispatch(
                f"/liveai/{address}", list(args), Request(source, self.clock.t, Replies(self.log))
            )
        except CommandError as exc:
            self.log.append(f"{self.clock.t:.6f} refused {address} {exc.code}: {exc.message}")
        self.port.flush()

    def phrase(self, pitches: list[int], beat: float = 0.25, source: str = A) -> None:
        for pitch in pitches:
            self.on(pitch, 70 + pitch % 20, source)
            self.advance(beat * 0.8)
            self.off(pitch, source)
            self.advance(beat * 0.2)


def script(p: Play, name: str) -> None:
    p.phrase([60, 62, 64, 65, 67, 69, 71, 72])
    p.on(60), p.on(64), p.on(67)  # a chord
    p.advance(0.4)
    p.on(64, 100)  # struck again while held
    p.advance(0.1)
    p.pedal(True)
    p.off(60), p.off(64)  # the pedal holds them
    p.advance(0.2)
    p.on(60)  # struck again while the pedal holds it
    p.advance(0.1)
    p.off(60), p.off(67)
    p.pedal(False)
    p.advance(1.5)
    p.phrase([67, 65, 64, 62], source=B)
    p.on(55, source=KEYS), p.on(59, source=KEYS)
    p.advance(0.3)
    p.engine.handle(InputLost(t=p.clock.t, source=KEYS))
    p.port.flush()
    p.advance(2.0)
    if name == "morph":
        p.command("morph/capture", "a")
        p.phrase([72, 71, 69, 67, 65, 64, 62, 60], beat=0.5)
        p.command("morph/capture", "b")
        p.advance(0.5)
        p.command("play")
        p.command("mode", "morph")
        p.advance(4.0)
        p.command("morph", 0.5)
        p.advance(4.0)
        p.command("tempo", 150.0)
        p.advance(3.0)
    p.command("panic")
    p.advance(0.5)
    p.phrase([60, 64, 67, 72, 67, 64])
    p.advance(3.0)
    p.command("mode", "thru", source=B)
    p.phrase([48, 52], source=B)
    p.command("stop")
    p.advance(1.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "runs" / "trace"))
    ap.add_argument("--models", default=str(ROOT / "models"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    folder = Path(args.models)
    models = {
        name: load_checkpoint(folder / f"{name}.pt", archs=(arch,))[0]
        for name, arch in (("gru", "gru"), ("harmony", "harmony"), ("vae", "vae"))
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, (mode, by, sessions) in RUNS.items():
        play = Play(models, mode, by, sessions)
        script(play, name)
        text = "\n".join(play.log) + "\n"
        (out / f"{name}.txt").write_text(text)
        digests[name] = {"events": len(play.log), "sha256": hashlib.sha256(text.encode()).hexdigest()[:16]}
    print(json.dumps(digests, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
