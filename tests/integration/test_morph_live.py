"""Morph against the real server with the shipped VAE: OSC capture and knob, a MIDI file
loaded, paths refused, MQTT's cmd/morph and cmd/morph_capture, a JACK MIDI clock's
tempo driving the loop."""

from __future__ import annotations

import time

import mido
from conftest import wait_until
from test_midi_jack import midi_peer, wait_for_midi  # noqa: F401 (a fixture)
from test_mqtt import pub, start_with_broker
from test_play_live import note_events

from liveai.behaviours.phrases import read_phrase
from liveai.config import Config
from liveai.data.midi import notes_to_midi
from liveai.models import melody
from liveai.music.note import Note
from liveai.runtime.loading import load_morph

LISTEN_PASSES = 2  # a whole pass must match; listening to more than one forgives a late datagram
RISING = [60, 62, 64, 65, 67, 69, 71, 72]
FALLING = [84, 83, 81, 79, 77, 76, 74, 72]


def play(peer, pitches, beat_s=0.25):
    """Quarter notes at 240 BPM (the server's tempo in these tests): two bars."""
    for pitch in pitches:
        peer.send("/liveai/note", pitch, 90)
        time.sleep(beat_s * 0.7)
        peer.send("/liveai/note", pitch, 0)
        time.sleep(beat_s * 0.3)


def ready(peer, slots: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = peer.receive(0.2)
        if got is not None and got[0] == "/liveai/out/morph_ready" and got[1] == [slots]:
            return
    raise AssertionError(f"no /liveai/out/morph_ready {slots!r}")


def onsets(messages):
    return [p for p, v, _ in note_events(messages) if v > 0]


def test_capture_two_phrases_and_turn_the_knob_over_osc(start_server, tmp_path):
    _, peer = start_server(
        "clock.bpm=240", "clock.source=internal", f'morph.folder="{tmp_path}"', model="gru"
    )
    play(peer, RISING)
    peer.send("/liveai/morph/capture", "a")
    ready(peer, "a")
    play(peer, FALLING)
    peer.send("/liveai/morph/capture", "b")
    ready(peer, "ab")
    peer.send("/liveai/mode", "morph")
    assert peer.expect("/liveai/out/mode") == ["morph"]
    peer.send("/liveai/play")
    first = onsets(peer.collect(2.2))  # a little over one pass (8 beats at 240 BPM)
    assert first[:8] == RISING, "at 0 the loop plays phrase a as it was played"
    peer.send("/liveai/morph", 1)  # an int, as Max sends it
    assert peer.expect("/liveai/out/morph") == [1.0]
    later = onsets(peer.collect(3.0))
    switched = next(i for i, p in enumerate(later) if p in (FALLING[0], FALLING[4]))  # a bar of b begins
    bar_of_b = later[switched : switched + 8]
    assert bar_of_b in (FALLING, FALLING[4:] + FALLING[:4]), (
        f"at 1, from the next bar line, phrase b: {later}"
    )
    peer.send("/liveai/stop")
    peer.collect(0.3)
    assert peer.status()["sounding_notes"] == 0


def timed_onsets(peer, duration: float) -> list[tuple[float, int]]:
    """(arrival time, pitch) of every note-on liveai plays within `duration`."""
    out: list[tuple[float, int]] = []
    deadline = time.monotonic() + duration
    while (left := deadline - time.monotonic()) > 0:
        got = peer.receive(left)
        if got is not None and got[0] == "/liveai/out/note" and got[1][1] > 0:
            out.append((time.monotonic(), got[1][0]))
    return out


def one_pass(tokens) -> list[tuple[int, int]]:
    """A melody's notes as (pitch, 16ths to the next onset), the last wrapping round the loop."""
    starts = [(step, token) for step, token in enumerate(tokens) if token < melody.N_PITCHES]
    return [
        (pitch, (starts[(i + 1) % len(starts)][0] - step) % melody.STEPS)
        for i, (step, pitch) in enumerate(starts)
    ]


def played_pass(heard: list[tuple[float, int]], tokens, step_s: float) -> bool:
    """Whether the loop played `tokens` for one whole pass, from any of its notes on (the
    pass that matches: intervals are rounded to 16ths, so a datagram late by more than half
    of one spoils its pass)."""
    want = one_pass(tokens)
    got = [(pitch, round((b - a) / step_s)) for (a, pitch), (b, _) in zip(heard, heard[1:])]
    n = len(want)
    for rotation in range(n):
        turned = want[rotation:] + want[:rotation]
        if any(got[i : i + n] == turned for i in range(len(got) - n + 1)):
            return True
    return False


def test_the_knob_plays_what_the_shipped_vae_decodes(start_server, tmp_path):
    """At 0.5 the loop plays the grid point the shipped VAE decodes in this process for
    the same two phrases; off the grid, the point decode_points gives there. The grid's
    ends are the phrases themselves, so this is the check that the model is the one
    shipped and that it is used."""
    for name, pitches in (("a.mid", RISING), ("b.mid", FALLING)):
        notes_to_midi([Note(i * 0.5, i * 0.5 + 0.4, p, 100) for i, p in enumerate(pitches)]).write(
            str(tmp_path / name)
        )
    config = Config()
    steps, lean = config.morph.steps, config.morph.lean
    vae = load_morph(config)  # as the server loads it (int8 on a CPU)
    a, b = (read_phrase(tmp_path / name, name).tokens for name in ("a.mid", "b.mid"))
    latents, grid = vae.encode_and_grid({"a": a, "b": b}, steps, lean)
    middle = grid[(steps - 1) // 2]
    assert middle not in (list(a), list(b)), (
        "the middle must differ from both phrases, or this proves nothing"
    )
    # a position off the grid whose point differs from the nearest grid point (which plays meanwhile)
    x, between = next(
        (
            (x, point)
            for x in (round(0.51 + i / 100, 2) for i in range(48))
            if (point := between_point(vae, latents, grid, x, lean)) != grid[round(x * (steps - 1))]
        ),
        (None, None),
    )
    assert x is not None, "every point off the grid decodes to its nearest grid point: this proves nothing"

    _, peer = start_server(
        "clock.bpm=240", "clock.source=internal", f'morph.folder="{tmp_path}"', model="gru"
    )
    asked = time.monotonic()
    peer.send("/liveai/morph/load", "a", "a.mid")
    ready(peer, "a")
    peer.send("/liveai/morph/load", "b", "b.mid")
    ready(peer, "ab")
    loaded = time.monotonic() - asked
    peer.send("/liveai/morph", 0.5)
    peer.send("/liveai/mode", "morph")
    assert peer.expect("/liveai/out/mode") == ["morph"]
    peer.send("/liveai/play")
    step_s = 60 / 240 / melody.STEPS_PER_QUARTER
    pass_s = melody.STEPS * step_s  # 2 s at 240 BPM
    # Two passes and a bit: one datagram late on this loaded machine spoils a pass, not the test.
    heard = timed_onsets(peer, LISTEN_PASSES * pass_s + 1.0)
    assert played_pass(heard, middle, step_s), f"at 0.5, {one_pass(middle)}; heard {heard}"

    turned = time.monotonic()
    peer.send("/liveai/morph", x)  # off the grid: decoded on demand, the nearest point plays meanwhile
    heard = timed_onsets(peer, LISTEN_PASSES * pass_s + 2.5)  # and the decode, and the bar line it waits for
    assert played_pass(heard, between, step_s), f"at {x}, {one_pass(between)}; heard {heard}"
    status = peer.status()
    # the figures are measured: inside the time the test saw them take
    assert 0 < status["morph_grid_ms_max"] < loaded * 1000, status
    assert 0 < status["morph_decode_ms_max"] < (time.monotonic() - turned) * 1000, status
    peer.send("/liveai/stop")
    peer.collect(0.3)
    assert peer.status()["sounding_notes"] == 0


def between_point(vae, latents, grid, x: float, lean: float) -> list[int]:
    """What the desk decodes at x between two grid points (as Desk._decode_between asks it)."""
    i = min(int(x * (len(grid) - 1)), len(grid) - 2)
    return vae.decode_points(latents["a"], latents["b"], [x], grid[i], grid[i + 1], lean)[0]


def test_load_a_file_and_refuse_paths_out_of_the_folder(start_server, tmp_path):
    folder = tmp_path / "phrases"
    folder.mkdir()
    notes_to_midi([Note(i * 0.5, i * 0.5 + 0.4, p, 100) for i, p in enumerate(RISING)]).write(
        str(folder / "riff.mid")
    )
    (tmp_path / "secret.mid").write_bytes(b"not yours")
    _, peer = start_server(f'morph.folder="{folder}"', model="gru")
    peer.send("/liveai/mode", "morph")
    code, message = peer.expect("/liveai/error")[:2]
    assert code == "unavailable" and "both empty" in message
    for bad in ("../secret.mid", str(tmp_path / "secret.mid")):
        peer.send("/liveai/morph/load", "a", bad)
        assert peer.expect("/liveai/error")[0] == "bad_path"
    peer.send("/liveai/morph/load", "b", "riff.mid")
    ready(peer, "b")
    peer.send("/liveai/mode", "morph")  # one slot: it plays the one it has
    assert peer.expect("/liveai/out/mode") == ["morph"]
    peer.send("/liveai/play")
    assert onsets(peer.collect(4.3))[:8] == RISING  # 120 BPM: a pass is 4 s
    peer.send("/liveai/stop")
    peer.collect(0.3)
    assert peer.status()["sounding_notes"] == 0


def test_loads_sent_at_once_wait_their_turn(start_server, tmp_path):
    """`morph/load a`, `morph/load b` and `morph/load a` again in one burst: each waits
    for the file before it (none is refused `busy`) and the last one asked for a slot is
    in it. The loop then plays slot a at 0 and slot b at 1."""
    for name, pitches in (("rise.mid", RISING), ("fall.mid", FALLING)):
        notes_to_midi([Note(i * 0.5, i * 0.5 + 0.4, p, 100) for i, p in enumerate(pitches)]).write(
            str(tmp_path / name)
        )
    _, peer = start_server(f'morph.folder="{tmp_path}"', model="gru")
    for slot, name in (("a", "fall.mid"), ("b", "fall.mid"), ("a", "rise.mid")):
        peer.send("/liveai/morph/load", slot, name)
    ready(peer, "ab")
    # the third file is read after the second (a new grid may cancel one on its way)
    heard = peer.collect(1.5)
    assert not [m for m in heard if m[0] == "/liveai/error"], heard
    peer.send("/liveai/mode", "morph")
    peer.send("/liveai/play")
    assert onsets(peer.collect(4.3))[:8] == RISING  # slot a holds the last file asked for it
    peer.send("/liveai/morph", 1.0)
    later = onsets(peer.collect(8.3))
    assert FALLING in [later[i : i + 8] for i in range(len(later) - 7)], later
    peer.send("/liveai/stop")
    assert peer.status()["errors"] == 0


def test_a_big_file_is_read_while_the_music_goes_on(start_server, tmp_path):
    """morph/load reads off the loop and off the model worker: a 180 KB file (about 0.7 s
    to parse) holds up neither, the loop answers notes at once, and a broken file is
    refused when read."""
    notes_to_midi([Note(i * 0.01, i * 0.01 + 0.05, 40 + i % 40, 100) for i in range(30000)]).write(
        str(tmp_path / "big.mid")
    )
    (tmp_path / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x00")
    _, peer = start_server(f'morph.folder="{tmp_path}"', model="gru")
    peer.send("/liveai/morph/load", "a", "big.mid")
    peer.send("/liveai/note", 60, 100)
    order = []
    while (got := peer.receive(5.0)) is not None:
        order.append(got[0])
        if got[0] == "/liveai/out/morph_ready":
            break
    else:
        raise AssertionError("the big file never arrived in slot a")
    assert "/liveai/out/note" in order[:-1], order  # the note was answered while the file was read
    peer.send("/liveai/note", 60, 0)
    peer.send("/liveai/morph/load", "b", "broken.mid")
    code, message = peer.expect("/liveai/error")[:2]
    assert code == "bad_file" and "broken.mid" in message


def test_mqtt_captures_and_turns_the_knob(mosquitto, start_server, tmp_path):
    _, peer = start_with_broker(start_server, mosquitto, "morph", "clock.bpm=240", model="gru")
    play(peer, RISING)
    pub(mosquitto, "liveai/morph/cmd/morph_capture", "a")
    ready(peer, "a")
    play(peer, FALLING)
    pub(mosquitto, "liveai/morph/cmd/morph/capture", "b")
    ready(peer, "ab")
    pub(mosquitto, "liveai/morph/cmd/mode", "morph")
    assert peer.expect("/liveai/out/mode") == ["morph"]
    pub(mosquitto, "liveai/morph/cmd/morph", "0.75")
    assert peer.expect("/liveai/out/morph") == [0.75]
    pub(mosquitto, "liveai/morph/cmd/stop", "")
    wait_until(lambda: peer.status()["sounding_notes"] == 0, 3, "nothing sounding")


def test_a_jack_midi_clock_drives_the_loops_tempo(jack, midi_peer, start_server, tmp_path):  # noqa: F811
    folder = tmp_path / "phrases"
    folder.mkdir()
    notes_to_midi([Note(i * 0.5, i * 0.5 + 0.25, p, 100) for i, p in enumerate(RISING)]).write(
        str(folder / "a.mid")
    )
    _, peer = start_server(
        f'morph.folder="{folder}"', "clock.source=midi", midi=True, model="gru", env=jack.env()
    )
    wait_for_midi(peer)
    midi_peer.connect_to_liveai()
    peer.send("/liveai/morph/load", "a", "a.mid")
    ready(peer, "a")
    peer.send("/liveai/mode", "morph")
    assert peer.expect("/liveai/out/mode") == ["morph"]
    arrivals: list[tuple[float, int]] = []
    midi_peer.listener.callback = lambda msg: (
        arrivals.append((time.perf_counter(), msg.note))
        if msg.type == "note_on" and msg.velocity > 0
        else None
    )
    bpm = 150.0
    period = 60.0 / (bpm * 24)
    midi_peer.player.send(mido.Message("start"))
    start = time.perf_counter()
    for tick in range(24 * 9):  # nine beats of a DAW at 150 BPM
        while time.perf_counter() < start + tick * period:
            time.sleep(0.0003)
        midi_peer.player.send(mido.Message("clock"))
    midi_peer.player.send(mido.Message("stop"))
    assert [note for _, note in arrivals][:8] == RISING, "the loop answers over JACK MIDI"
    gaps = sorted(b - a for (a, _), (b, _) in zip(arrivals[:8], arrivals[1:8]))
    assert abs(gaps[len(gaps) // 2] - 60.0 / bpm) < 0.02, f"one note per beat of the DAW's clock: {gaps}"
    wait_until(lambda: peer.status()["sounding_notes"] == 0, 3, "the stop ends the loop's note")
