"""The JACK MIDI half of `liveai bench --play`: harmonize round trips through JACK."""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

import mido

from .midi_latency import _connect, port, start_jack
from .play import ChannelRoundTrip, _PlayServer, harmonize_rates


def bench_harmonize_midi(model: str, rates: list[float], seconds: float) -> dict[str, Any]:
    with ExitStack() as stack:
        start_jack(stack)
        midi = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
        trip = ChannelRoundTrip()
        player = midi.open_output("play player", virtual=True, client_name="play")
        stack.callback(player.close)

        def heard(msg: mido.Message) -> None:
            if msg.type == "note_on":
                trip.answer(msg.note, msg.velocity, msg.channel + 1, time.perf_counter())

        listener = midi.open_input("play listener", virtual=True, client_name="play", callback=heard)
        stack.callback(listener.close)
        srv = _PlayServer(stack, model, ["server.mode=harmonize", "harmonize.by=model"], midi=True)
        _connect(port("play player"), port("liveai in"), port("liveai out"), port("play listener"))

        def send(pitch: int, velocity: int, channel: int) -> None:
            player.send(mido.Message("note_on", note=pitch, velocity=velocity, channel=channel - 1))

        return harmonize_rates(srv, send, trip, model, rates, seconds)
