"""Following a shared timeline (Ableton Link's session), with a timeline in memory:
beats on its grid and phase, a peer's tempo change re-planning the next beat, the
tempo proposed, "auto" joining when a peer comes and leaving when it goes."""

from __future__ import annotations

import bisect
import math

import pytest
from fakes import Sink, make_engine, run_until

from liveai.config import Config
from liveai.core.clock import PPQN
from liveai.events import Beat, ClockTick


class Timeline:
    """A session's timeline: piecewise linear beat(t), changed by tempo like Link's
    (the beat at the moment of change is kept, the slope changes)."""

    def __init__(self, clock, bpm=120.0, beat0=1.3, quantum=4, peers=1):
        self.clock, self.quantum, self._peers = clock, quantum, peers
        self._t0, self._b0, self._bpm = clock.t, beat0, bpm
        self.proposed: list[float] = []
        self.playing: list[bool] = []

    def peers(self):
        return self._peers

    def tempo(self):
        return self._bpm

    def beat_at(self, t):
        return self._b0 + (t - self._t0) * self._bpm / 60.0

    def time_at(self, beat):
        return self._t0 + (beat - self._b0) * 60.0 / self._bpm

    def set_tempo(self, bpm):
        now = self.clock.t
        self._b0, self._t0, self._bpm = self.beat_at(now), now, bpm

    def propose_tempo(self, bpm):
        self.proposed.append(bpm)
        self.set_tempo(bpm)

    def propose_playing(self, playing):
        self.playing.append(playing)


def linked_engine(source="link", **kw):
    config = Config()
    config.clock.source = source
    engine, clock, sink = make_engine(config)
    timeline = Timeline(clock, **kw)
    engine.conductor.join(timeline)
    beats = []
    engine.conductor._beat_sessions = lambda n, t: beats.append((n, t, clock.t))
    ups = []
    engine.conductor._upcoming_sessions = lambda n, t: ups.append((n, t, clock.t))
    return engine, clock, timeline, beats, ups


def on_grid(timeline, n, t):
    """The timeline's beat at `t` is a whole beat of the same phase as liveai's beat n."""
    beat = timeline.beat_at(t)
    return beat == pytest.approx(round(beat), abs=1e-9) and (round(beat) - n) % timeline.quantum == 0


@pytest.mark.parametrize("bpm", [90.0, 120.0, 240.0])
def test_beats_fall_on_the_timeline_from_its_next_bar_line(bpm):
    engine, clock, timeline, beats, _ = linked_engine(bpm=bpm)
    engine.play()
    run_until(engine, clock, clock.t + 12 * 60 / bpm)
    assert [n for n, _, _ in beats][:9] == list(range(9))
    assert timeline.beat_at(beats[0][1]) == pytest.approx(4.0)  # the bar after beat 1.3
    assert all(on_grid(timeline, n, t) and fired == t for n, t, fired in beats)
    assert engine.status()["clock"] == "link" and engine.status()["tempo"] == bpm


def test_a_peers_tempo_change_re_plans_the_next_beat_at_once():
    engine, clock, timeline, beats, ups = linked_engine(bpm=120.0)
    engine.play()
    run_until(engine, clock, clock.t + 3.2)  # mid-beat
    timeline.set_tempo(180.0)
    engine.conductor.timeline_changed()  # Link's tempo callback
    changed = clock.t
    run_until(engine, clock, clock.t + 2.0)
    later = [(n, t) for n, t, _ in beats if t > changed]
    assert later and all(on_grid(timeline, n, t) for n, t in later)
    # the first beat after the change comes where the new tempo puts it, not the old
    assert later[0][1] - changed < 60 / 120.0
    assert later[1][1] - later[0][1] == pytest.approx(60 / 180.0)
    announced = {n: t for n, t, _ in ups}
    assert all(announced[n] == pytest.approx(t, abs=1e-9) for n, t in later)
    assert engine.state["tempo"] == 180.0


def test_the_tempo_command_proposes_to_the_session():
    engine, clock, timeline, beats, _ = linked_engine(bpm=120.0)
    engine.play()
    run_until(engine, clock, clock.t + 2.1)
    engine.set_value("tempo", 150.0)
    changed = clock.t
    run_until(engine, clock, clock.t + 2.0)
    assert timeline.proposed == [150.0] and timeline.tempo() == 150.0
    assert all(on_grid(timeline, n, t) for n, t, _ in beats if t > changed)
    assert beats[-1][1] - beats[-2][1] == pytest.approx(0.4)


# joining where the session's bar is further on than liveai's, or behind it (then a bar on)
@pytest.mark.parametrize("beat0", [1001.3, 998.7])
def test_auto_joins_when_a_peer_comes_and_keeps_the_tempo_when_it_leaves(beat0):
    engine, clock, timeline, beats, _ = linked_engine("auto", bpm=100.0, beat0=beat0, peers=0)
    engine.play()
    run_until(engine, clock, clock.t + 1.1)
    assert engine.status()["clock"] == "internal"  # alone: its own tempo (120)
    timeline._peers = 1
    engine.conductor.timeline_changed()
    joined = clock.t
    run_until(engine, clock, clock.t + 3.0)
    after = [(n, t) for n, t, _ in beats if t > joined + 60 / 120 / PPQN]
    assert engine.status()["clock"] == "link"
    assert all(on_grid(timeline, n, t) for n, t in after)
    numbers = [n for n, _, _ in beats]
    # no beat played twice, and liveai's count goes on (at most a bar skipped to the phase)
    assert all(0 < b - a <= timeline.quantum for a, b in zip(numbers, numbers[1:]))
    timeline._peers = 0
    engine.conductor.timeline_changed()
    run_until(engine, clock, clock.t + 2.0)
    assert engine.status()["clock"] == "internal" and engine.status()["tempo"] == 100.0


def test_start_and_stop_are_shared_when_asked():
    engine, clock, timeline, _, _ = linked_engine()
    engine.config.clock.link_start_stop = True
    engine.play()
    engine.stop()
    assert timeline.playing == [True, False]


@pytest.mark.parametrize("source", ["link", "internal"])
def test_only_a_beats_pulse_asks_the_driver_for_a_precise_wake(source):
    engine, clock, timeline, beats, _ = linked_engine(source)
    engine.play()
    precise = []
    while len(beats) < 3:
        precise.append(engine.output.precise_next())
        clock.t = engine.output.scheduler.next_time()
        engine.run_due()
    # pulses 0, 24 and 48 are beats: the first of each run of 24 pulses, and only it
    assert precise == ([True] + [False] * (PPQN - 1)) * 2 + [True]


def lead_engine(source="auto", **kw):
    """Joined to a timeline, leading MIDI clock, with an output of 0.2 s lead."""
    engine, clock, timeline, beats, ups = linked_engine(source, **kw)
    engine.config.midi.clock_out = True
    plain, far = Sink(clock), Sink(clock)
    engine.output.sinks.remove(engine.output.sinks[0])
    engine.output.add_sink(plain)
    engine.output.add_sink(far, 0.2)
    return engine, clock, timeline, plain, far


def most_in(times, window):
    """The most of the sorted `times` in any `window` from one of them."""
    return max(bisect.bisect_left(times, t + window) - i for i, t in enumerate(times))


def test_auto_with_a_lead_leaves_no_clock_behind_when_peers_come_and_go():
    engine, clock, timeline, plain, far = lead_engine(bpm=100.0, beat0=1001.3, peers=0)
    engine.play()
    run_until(engine, clock, clock.t + 1.1)
    timeline._peers = 1
    engine.conductor.timeline_changed()
    run_until(engine, clock, clock.t + 60.0)  # a minute linked
    assert engine.status()["clock"] == "link"
    timeline._peers = 0
    engine.conductor.timeline_changed()
    run_until(engine, clock, clock.t + 2.0)
    assert engine.status()["clock"] == "internal"
    for sink in (plain, far):
        ticks = [t for t, e in sink.sent if isinstance(e, ClockTick)]
        # 120 BPM at most: 12 pulses in a quarter second, and one for the edges
        assert len(ticks) > 60 * 40 and most_in(ticks, 0.25) <= 13
        assert ticks == sorted(ticks)


def test_linked_with_a_lead_a_peers_tempo_change_echoes_each_beat_once():
    engine, clock, timeline, plain, far = lead_engine("link", bpm=120.0)
    engine.play()
    run_until(engine, clock, clock.t + 2.0)
    for _ in range(4):  # within the lead of the next beat: its echo has left for `far`
        next_beat = timeline.time_at(math.floor(timeline.beat_at(clock.t)) + 1)
        run_until(engine, clock, next_beat - 0.1)
        timeline.set_tempo(timeline.tempo() + 7.0)
        engine.conductor.timeline_changed()
    run_until(engine, clock, clock.t + 2.0)
    for sink in (plain, far):
        beats = [e.n for _, e in sink.sent if isinstance(e, Beat)]
        assert len(beats) >= 6 and beats == list(range(len(beats)))


def test_a_session_tempo_out_of_range_is_not_followed_until_it_is_back():
    engine, clock, timeline, beats, _ = linked_engine(bpm=600.0)
    engine.play()
    run_until(engine, clock, clock.t + 2.0)
    assert engine.status()["clock"] == "internal" and engine.status()["tempo"] == 120.0
    gaps = [b[1] - a[1] for a, b in zip(beats, beats[1:])]
    assert len(gaps) >= 2 and gaps == pytest.approx([0.5] * len(gaps))  # liveai's own 120
    timeline.set_tempo(150.0)  # back in range: joined again
    engine.conductor.timeline_changed()
    changed = clock.t
    run_until(engine, clock, clock.t + 3.0)
    later = [(n, t) for n, t, _ in beats if t > changed + 0.5]
    assert engine.status()["clock"] == "link" and engine.status()["tempo"] == 150.0
    assert len(later) >= 4 and all(on_grid(timeline, n, t) for n, t in later)
    assert later[-1][1] - later[-2][1] == pytest.approx(0.4)
