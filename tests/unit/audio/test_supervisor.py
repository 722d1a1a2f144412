"""The supervisor of the synth's two processes, driven with fake processes and a fake
clock: it starts the render process first, then the output process; says why either
cannot run (no synth, no device) and tries again, waiting longer each time; starts again
a render process that ends or stops rendering, and an output process that stops calling
back; and carries over what each counted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from liveai.audio.link import SynthLink
from liveai.audio.supervisor import RETRY_S, STALLED_S, STEADY_S, WEDGED_S
from liveai.config import AudioConfig


class FakeChild:
    def __init__(self, says: str) -> None:
        self.says = says
        self.alive = True

    def first_line(self, timeout: float, stop: object = None) -> str:
        return self.says

    @property
    def running(self) -> bool:
        return self.alive

    def exit_code(self, timeout: float = 1.0) -> int:
        return -9

    def stop(self) -> None:
        self.alive = False


class Script:
    """What each process started next says: lists of first lines, by module."""

    def __init__(self, render: list[str], output: list[str]) -> None:
        self.lines = {"liveai.audio.render_process": render, "liveai.audio.output": output}
        self.started: list[tuple[str, FakeChild]] = []
        self.args: dict[str, list[str]] = {}  # the latest argv, by module

    def spawn(self, module: str, args: Sequence[str], fds: Sequence[int], quiet: bool) -> FakeChild:
        child = FakeChild(self.lines[module].pop(0))
        self.args[module] = list(args)
        self.started.append((module.rsplit(".", 1)[1], child))
        return child

    def last(self, which: str) -> FakeChild:
        return [c for name, c in self.started if name == which][-1]


@pytest.fixture
def make():
    made: list[SynthLink] = []

    def build(render: list[str], output: list[str]) -> tuple[SynthLink, Script]:
        script = Script(render, output)
        engine = SynthLink(AudioConfig(), Path("synth.pt"), spawn=script.spawn)  # type: ignore[arg-type]
        made.append(engine)
        return engine, script

    yield build
    for engine in made:
        engine.close()


def calling_back(engine: SynthLink, now: float) -> None:
    engine.ring.header.last_ns = round(now * 1e9)


def test_no_synth_then_no_device_then_playing(make) -> None:
    engine, script = make(
        ["failed audio.model: cannot read", "ready 1"],
        ["no-device no audio output device", "playing 0.005 system"],
    )
    s = engine.supervisor
    assert engine.state == "starting"
    s.watch(100.0)
    assert engine.state == "no synth" and s.render.problem == "audio.model: cannot read"
    s.watch(100.0 + RETRY_S[0] / 2)  # not yet: it waits before trying again
    assert len(script.started) == 1
    s.watch(100.0 + RETRY_S[0])
    assert [name for name, _ in script.started] == ["render_process", "render_process"]
    assert engine.state == "starting"  # the synth is ready; no stream yet
    stream = int(engine.ring.header.stream)
    s.watch(101.0)
    assert engine.state == "no device" and engine.ring.header.stream == stream + 1
    s.watch(101.0 + RETRY_S[0])
    assert engine.state == "playing" and s.device_name == "system"
    assert engine.status()["audio_latency_ms"] == pytest.approx(
        5.0 + 1000 * 256 / 48000 + AudioConfig().headroom_ms, abs=0.01
    )


def playing(make, render: list[str], output: list[str]) -> tuple[SynthLink, Script, float]:
    engine, script = make(render, output)
    engine.supervisor.watch(100.0)
    engine.supervisor.watch(100.0)
    assert engine.state == "playing"
    return engine, script, 100.0


def test_a_render_process_that_ends_is_started_again_and_its_counts_are_carried_over(make) -> None:
    engine, script, now = playing(make, ["ready 1", "ready 1"], ["playing 0.005 system"])
    h = engine.ring.header
    h.render_pid, h.renders, h.late, h.voices = 4321, 1000, 3, 2
    script.last("render_process").alive = False  # it crashed
    calling_back(engine, now + 1)
    engine.supervisor.watch(now + 1)
    assert len([n for n, _ in script.started if n == "render_process"]) == 2  # started again at once
    assert (h.render_pid, h.renders, h.late, h.voices) == (0, 0, 0, 0)  # the dead one's figures
    status = engine.status()
    assert status["audio_renders"] == 1000 and status["audio_late_notes"] == 3 and status["audio_voices"] == 0
    assert status["audio_render_restarts"] == 1 and engine.state == "playing"


def test_a_render_process_that_stops_rendering_is_started_again(make) -> None:
    engine, script, now = playing(make, ["ready 1", "ready 1"], ["playing 0.005 system"])
    h = engine.ring.header
    first = script.last("render_process")
    for t in (1.0, 1.5, 2.0):  # it renders: the ring's write position moves
        h.written += 256
        calling_back(engine, now + t)
        engine.supervisor.watch(now + t)
    calling_back(engine, now + 2.0 + STALLED_S - 0.1)
    engine.supervisor.watch(now + 2.0 + STALLED_S - 0.1)
    assert first.alive  # not yet
    calling_back(engine, now + 2.0 + STALLED_S + 0.1)
    engine.supervisor.watch(now + 2.0 + STALLED_S + 0.1)  # the callback goes on; nothing written for too long
    assert not first.alive and engine.supervisor.render.problem == "stalled"
    engine.supervisor.watch(now + 2.0 + STALLED_S + 0.2)
    assert script.last("render_process") is not first and engine.state == "playing"


def test_a_render_process_slow_to_start_has_its_full_time_to_render(make) -> None:
    """Loading torch on a busy machine can take many seconds, and the watch waits for it:
    the time to render counts from the first look after the start, not from before it."""
    engine, script, now = playing(make, ["ready 1", "ready 1"], ["playing 0.005 system"])
    h = engine.ring.header
    h.written += 256  # the first one plays
    calling_back(engine, now + 0.5)
    engine.supervisor.watch(now + 0.5)
    script.last("render_process").alive = False
    calling_back(engine, now + 1)
    engine.supervisor.watch(now + 1)  # started again here; say it took 30 s to be ready
    second = script.last("render_process")
    calling_back(engine, now + 31)
    engine.supervisor.watch(now + 31)
    assert second.alive  # not yet judged: nothing was expected of it before now
    calling_back(engine, now + 31 + STALLED_S + 0.1)
    engine.supervisor.watch(now + 31 + STALLED_S + 0.1)
    assert not second.alive  # and if it never renders, it is stalled after STALLED_S


def test_a_device_period_larger_than_the_ring_is_said_once_and_blames_no_process(make, caplog) -> None:
    engine, script, now = playing(make, ["ready 1", "ready 1"], ["playing 0.005 system"])
    engine.ring.header.frames = engine.ring.capacity  # a JACK period of the whole ring
    render = script.last("render_process")
    for t in range(1, 11):  # 10 s: nothing can be written ahead of such a callback
        calling_back(engine, now + t)
        engine.supervisor.watch(now + t)
    assert render.alive and engine.state == "playing"
    said = [r.getMessage() for r in caplog.records if "frames per callback" in r.getMessage()]
    assert len(said) == 1 and "set a smaller period" in said[0]
    engine.ring.header.frames = 256  # JACK's period set back: the render process is judged afresh
    calling_back(engine, now + 11)
    engine.supervisor.watch(now + 11)
    assert render.alive
    calling_back(engine, now + 11 + STALLED_S + 0.1)
    engine.supervisor.watch(now + 11 + STALLED_S + 0.1)
    assert not render.alive  # and it still renders nothing: stalled


def test_an_output_process_that_stops_calling_back_is_started_again_and_its_counts_are_carried_over(
    make,
) -> None:
    engine, script, now = playing(make, ["ready 1"], ["playing 0.005 system", "playing 0.005 system"])
    engine.ring.header.underruns = 7
    calling_back(engine, now)
    engine.supervisor.watch(now + WEDGED_S + 0.1)
    assert not script.started[1][1].alive and engine.state == "no device"
    engine.supervisor.watch(now + WEDGED_S + 0.1 + RETRY_S[0])
    assert engine.state == "playing" and engine.status()["audio_reopens"] == 1
    assert engine.status()["audio_underruns"] == 7 and engine.ring.header.underruns == 0


def warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "liveai.audio.supervisor" and r.levelname == "WARNING"
    ]


def test_a_wedged_output_process_is_said_in_one_line(make, caplog) -> None:
    engine, script, now = playing(make, ["ready 1"], ["playing 0.005 system", "playing 0.005 system"])
    calling_back(engine, now)
    engine.supervisor.watch(now + WEDGED_S + 0.1)
    assert warnings(caplog) == [
        "lost system (its process stopped calling back); the notes go on over MIDI and OSC, "
        "looking for it again"
    ]


def test_a_process_that_cannot_start_says_a_new_problem_at_once_and_a_repeat_once_a_minute(
    make, caplog
) -> None:
    engine, script = make(["failed no synth.pt"] * 3 + ["failed synth.pt is broken"] * 3, [])
    s = engine.supervisor
    for _ in range(5):  # each try after its wait, all within the minute
        s.watch(s.render.next_try)
    s.watch(s.render.next_try + 60.0)
    assert len(script.started) == 6 and engine.state == "no synth"
    assert [m.split(": ", 1)[1] for m in warnings(caplog)] == [
        "no synth.pt; serving without audio, trying again",
        "synth.pt is broken; serving without audio, trying again",
        "synth.pt is broken; serving without audio, trying again (1 more since the last report)",
    ]


def test_each_process_reads_the_flags_it_is_started_with(make) -> None:
    """The argv the supervisor builds is what each process's parser takes, value for value."""
    from liveai.audio import output, render_process

    config = AudioConfig(device="USB", realtime=True)
    engine, script = make(["ready 1"], ["playing 0.005 system"])
    engine.supervisor.config = config
    engine.supervisor.watch(100.0)
    engine.supervisor.watch(100.0)
    render = render_process.parse(script.args["liveai.audio.render_process"])
    played = output.parse(script.args["liveai.audio.output"])
    assert (render.ring_fd, render.events_fd, render.wake_fd) == (
        engine.ring.fd,
        engine.supervisor.events_r,
        engine.supervisor.wake_r,
    )
    assert (render.synth, render.blocksize, render.headroom_ms) == (
        "synth.pt",
        config.blocksize,
        config.headroom_ms,
    )
    assert (render.polyphony, render.gain, render.realtime) == (config.polyphony, config.gain, True)
    assert (played.ring_fd, played.wake_fd) == (engine.ring.fd, engine.supervisor.wake_w)
    assert (played.samplerate, played.blocksize, played.device) == (
        config.samplerate,
        config.blocksize,
        "USB",
    )
    assert played.latency_s == config.latency_ms / 1000.0


def test_a_render_process_that_keeps_crashing_once_ready_is_said_once_until_it_plays_steadily(
    make, caplog
) -> None:
    """Each start succeeds and the wait starts afresh, so a crash just after "ready" would
    say a line per start for ever; it is said once, and again at once after a steady run."""
    engine, script, now = playing(make, ["ready 1"] * 12, ["playing 0.005 system"])
    s = engine.supervisor
    for i in range(1, 11):  # ten crashes, one a second
        script.last("render_process").alive = False
        calling_back(engine, now + i)
        s.watch(now + i)
        calling_back(engine, now + i + 0.1)
        s.watch(now + i + 0.1)
    said = [r for r in caplog.records if "the render process ended" in r.getMessage()]
    assert [r.levelname for r in said].count("WARNING") == 1
    h = engine.ring.header
    for t in range(11, 11 + int(STEADY_S) + 2):  # then it plays steadily
        h.written += 256
        calling_back(engine, now + t)
        s.watch(now + t)
    script.last("render_process").alive = False
    t = now + 11 + STEADY_S + 2
    calling_back(engine, t)
    s.watch(t)
    said = [r for r in caplog.records if "the render process ended" in r.getMessage()]
    assert [r.levelname for r in said].count("WARNING") == 2  # a new problem, said at once


def test_a_device_or_synth_named_like_a_flag_reaches_the_process_whole(make) -> None:
    from liveai.audio import output, render_process

    engine, script = make(["ready 1"], ["playing 0.005 system"])
    engine.supervisor.config = AudioConfig(device="-hw:1")
    engine.supervisor.synth = Path("-synth.pt")
    engine.supervisor.watch(100.0)
    engine.supervisor.watch(100.0)
    assert render_process.parse(script.args["liveai.audio.render_process"]).synth == "-synth.pt"
    assert output.parse(script.args["liveai.audio.output"]).device == "-hw:1"
