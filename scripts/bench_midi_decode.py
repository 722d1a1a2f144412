"""Per-message cost of decoding MIDI input on liveai's loop (`MidiTransport._take`), in turns:
`mido`, main's way at 06b382a (mido.Message.from_bytes, then the message mapped to an
event), against `direct` (liveai's to_event on the bytes). Prints JSON.

    .venv/bin/python scripts/bench_midi_decode.py [TURNS]
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import mido

from liveai.config import MidiConfig
from liveai.core.stats import Stats
from liveai.events import (
    ClockTick,
    ControlChange,
    Event,
    NoteOff,
    NoteOn,
    ProgramChange,
    TransportStart,
    TransportStop,
)
from liveai.transports.midi import MidiTransport
from liveai.transports.midi_wire import FrameReader, in_frame, parse_in

MESSAGES = [b"\x90\x3c\x64", b"\x80\x3c\x00", b"\xb0\x01\x40", b"\xf8"]  # note on, off, CC, clock
PER_TURN = 2000


def mido_to_event(msg: mido.Message, t: float, source: str, clock_in: bool) -> Event | None:
    """main's to_event at 06b382a, on a mido message."""
    match msg.type:
        case "note_on" if msg.velocity > 0:
            return NoteOn(msg.note, msg.velocity, msg.channel, t=t, source=source)
        case "note_on" | "note_off":
            return NoteOff(msg.note, msg.channel, t=t, source=source)
        case "control_change":
            return ControlChange(msg.control, msg.value, msg.channel, t=t, source=source)
        case "program_change":
            return ProgramChange(msg.program, msg.channel, t=t, source=source)
    if not clock_in:
        return None
    match msg.type:
        case "clock":
            return ClockTick(t=t, source=source)
        case "start" | "continue":
            return TransportStart(resume=msg.type == "continue", t=t, source=source)
        case "stop":
            return TransportStop(t=t, source=source)
    return None


def main() -> None:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    frames = FrameReader().feed(b"".join(in_frame(1.0, 0, MESSAGES[i % 4]) for i in range(PER_TURN)))
    heard: list[Event] = []
    midi = MidiTransport(MidiConfig(), heard.append, Stats(0.0))
    midi.inputs = {0: "liveai in"}

    def heard_by_mido(payload: bytes) -> None:
        arrival, number, data = parse_in(payload)
        name = midi.inputs.get(number)
        if (
            name is not None
            and (
                event := mido_to_event(
                    mido.Message.from_bytes(data), arrival, f"midi:{name}", midi.config.clock_in
                )
            )
            is not None
        ):
            midi.handle(event)

    ways = {"mido": heard_by_mido, "direct": midi._heard}
    us: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(turns):
        for name, way in ways.items():
            midi._heard = way  # type: ignore[method-assign]
            heard.clear()
            start = time.perf_counter()
            midi._take(frames)
            us[name].append((time.perf_counter() - start) / PER_TURN * 1e6)
            assert len(heard) == PER_TURN
    print(
        json.dumps(
            {
                name: {
                    "median_us": round(statistics.median(v), 2),
                    "min_us": round(min(v), 2),
                    "turns": turns,
                }
                for name, v in us.items()
            }
        )
    )


if __name__ == "__main__":
    main()
