"""MIDI input never goes deaf: a message whose handling raises is counted and the
drain goes on with the next, so the inbox empties and the next message wakes a drain
again (rtmidi's thread schedules one only when the inbox was empty)."""

from __future__ import annotations

import asyncio

import mido

from liveai.config import Config
from liveai.core.stats import Stats
from liveai.errors import CommandError
from liveai.events import Event, NoteOn
from liveai.transports.midi import MidiTransport


async def test_a_message_that_raises_leaves_midi_input_alive():
    handled: list[int] = []

    def handle(event: Event) -> None:
        assert isinstance(event, NoteOn)
        if event.pitch == 61:
            raise RuntimeError("a bug in the engine")
        if event.pitch == 62:
            raise CommandError("bad_value", "a refusal, not a fault")
        handled.append(event.pitch)

    stats = Stats(0.0)
    midi = MidiTransport(Config().midi, handle, stats)
    midi._loop = asyncio.get_running_loop()
    receive = midi._receiver("midi:keys")
    for pitch in (60, 61, 62, 63):  # all in before the loop drains: one wake-up for the four
        receive(mido.Message("note_on", note=pitch, velocity=90))
    await asyncio.sleep(0.01)
    assert handled == [60, 63] and not midi._inbox
    receive(mido.Message("note_on", note=64, velocity=90))  # a later message still wakes a drain
    await asyncio.sleep(0.01)
    assert handled == [60, 63, 64]
    assert stats.counters["internal_errors"] == 1 and stats.counters["errors"] == 1
