"""Harmonize with the shipped harmony model, live over OSC with the real server: the
chords are consonant, under the melody and in key, and their voices end with the
melody's note-offs, or with the pedal when it holds them."""

from __future__ import annotations

from liveai.music.scales import Scale
from liveai.music.voicing import consonant

# "Ode to Joy": E E F G G F E D C C D E E D D
MELODY = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62]


def notes(messages, on: bool) -> list[int]:
    return [args[0] for address, args in messages if address == "/liveai/out/note" and (args[1] > 0) == on]


def test_the_harmony_model_voices_a_melody_consonantly_and_follows_its_note_offs(start_server):
    # a generous budget: what the model chooses, not how fast (latency is the benchmark's)
    server, peer = start_server("budget.harmonize_ms=250", "harmonize.voices=2", model="gru")
    assert "harmony model harmony" in server.log()  # the shipped harmony model, loaded by default
    peer.send("/liveai/key", "C", "major")
    chords = []
    for pitch in MELODY:
        peer.send("/liveai/note", pitch, 96)
        voices = notes(peer.collect(0.25), on=True)
        assert len(voices) == 2 and all(v < pitch and v in Scale("C", "major") for v in voices), (
            pitch,
            voices,
        )
        chords.append([pitch, *voices])
        peer.send("/liveai/note", pitch, 0)
        assert sorted(notes(peer.collect(0.2), on=False)) == sorted(voices)  # they end with the key
    assert all(consonant(chord) for chord in chords), chords
    assert len({tuple(c[0] - v for v in c[1:]) for c in chords}) >= 3  # not one interval for every note
    status = peer.status()
    assert status["deadline_misses"] == 0 and status["sounding_notes"] == 0


def test_the_pedal_holds_the_voices_until_it_lifts(start_server):
    _, peer = start_server("budget.harmonize_ms=250", model="gru")
    peer.send("/liveai/cc", 64, 127)
    held = []
    for pitch in (60, 64, 67):
        peer.send("/liveai/note", pitch, 90)
        held += notes(peer.collect(0.25), on=True)
        peer.send("/liveai/note", pitch, 0)
    assert notes(peer.collect(0.3), on=False) == []  # keys up, pedal down: everything still sounds
    peer.send("/liveai/cc", 64, 0)
    ended = notes(peer.collect(0.3), on=False)
    assert held and set(held) <= set(ended)
    assert peer.status()["sounding_notes"] == 0
