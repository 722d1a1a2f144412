"""The transport and its clock: play and stop, internal pulses on the scheduler or
incoming MIDI clock followed, beats handed to the sessions and sent out.

Internal pulses are timers at target times derived from the previous target, never
from now, so the beat does not drift. As leader liveai sends start/stop (and clock
when `midi.clock_out`); while it follows MIDI clock, the tempo is the sender's.

Each beat is announced ahead (`upcoming(n, t)`) with its predicted time: at the last
pulse before it, or as many whole pulses before it as `clock.lookahead_ms` holds, so
a loop plans its notes on the grid before the beat arrives; a tempo change announces
it again with its new time. Then the beat itself comes (`beat(n, t)`) with the time it
really began. The first beat after a MIDI Start is not announced (nothing predicts
it): it is planned when it comes.

Joined to a shared timeline (Ableton Link), the pulses are still this module's
timers, each planned at its place on the timeline: a run starts on the timeline's next
bar line, beat n on the timeline's beat of the same phase (`clock.quantum`); a tempo
change from a peer re-plans the next pulse and the announced beat at once, and
liveai's tempo command proposes the tempo to the session.

With outputs that have a lead (`latency_ms`) the lookahead grows by the largest, and
the beat echo and the clock sent as leader are scheduled ahead like notes, so each
output gets them that much early. The internal pulses are then planned that far ahead
too: what has left for an output cannot be taken back, so a tempo change begins after
the pulses planned already. Joined to a timeline the pulses are the timeline's, planned
one at a time: the beat echo and the clock then go out on the beat, not ahead. Moving
onto a timeline or off it takes back what was planned ahead; off it, the pulses pause
for the lead rather than send those now too late for an output in a burst.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Config
from ..errors import CommandError
from ..events import Beat, ClockTick, TransportStart, TransportStop
from .clock import PPQN, Clock, Timeline
from .output import Output, Timer
from .state import State


class Conductor:
    def __init__(
        self,
        config: Config,
        output: Output,
        state: State,
        beat: Callable[[int, float], None],
        upcoming: Callable[[int, float], None] = lambda n, t: None,
    ) -> None:
        self.config = config
        self.output = output
        self.state = state
        self.clock = Clock(config.clock.bpm, config.clock.source)
        self._beat_sessions = beat
        self._upcoming_sessions = upcoming
        self._pulse: Timer | None = None  # the next internal pulse while playing
        self._pulse_at = 0.0  # and its time
        self._announced = -1  # the latest beat announced ahead
        self._linked = False  # whether the pulse now pending was planned on the timeline
        # With leads: the beat echo scheduled ahead, and the pulses planned ahead (number ->
        # time, the latest last), each with its clock message scheduled when liveai leads.
        self._echo: Beat | None = None
        self._planned: dict[int, float] = {}
        self._ticks_owner = object()

    def lookahead_s(self) -> float:
        return self.config.clock.lookahead_ms / 1000.0 + self.output.lead

    def following(self) -> bool:
        return self.clock.following(self.output.now())

    def join(self, timeline: Timeline) -> None:
        """Follow a shared timeline (the Link session) from now on."""
        self.clock.timeline = timeline

    def play(self, resume: bool = False, at: float | None = None) -> None:
        now = self.output.now() if at is None else at
        if resume:
            self.clock.resume()
        else:
            self.clock.start()
            self._announced = -1
        self.state.set("playing", True)
        if self.clock.linked():
            self._play_linked(resume, now)
        elif not self.clock.following(now):
            self.output.send(TransportStart(resume=resume, t=now))  # followers (MIDI clock out) start too
            if self._pulse is None:
                self._schedule_pulse(now + self.lookahead_s(), self.clock.ticks)
            elif not resume and self._planned:  # started again while it ran: pulses count from 0
                self._forget_plan()
                self.output.drop(self._pulse)  # the next pulse is beat 0's: a precise timer
                self._schedule_pulse(self._pulse_at, self.clock.ticks)
            self._plan_pulses(now)
            self._announce_start()

    def _play_linked(self, resume: bool, now: float) -> None:
        """Start on the timeline's next bar line (a continue: on the next pulse of the
        same phase), so liveai's bars are the session's."""
        self.output.send(TransportStart(resume=resume, t=now))
        if self._pulse is not None:
            self.output.drop(self._pulse)
        self._forget_plan()
        self._relink(now + self.lookahead_s(), fresh=not resume)
        self._linked = True
        self._schedule_pulse(self.clock.pulse_time(self.clock.ticks), self.clock.ticks)
        if self.config.clock.link_start_stop and self.clock.timeline is not None:
            self.clock.timeline.propose_playing(True)
        self._announce_start()

    def _announce_start(self) -> None:
        """Announce the next pulse's beat, if it is one (started again while it ran: beat 0
        replaces the beat announced there)."""
        n = self.clock.ticks // PPQN
        if self.clock.ticks % PPQN == 0 and n > self._announced:
            self._announce(n, self._pulse_at)

    def _quantum(self) -> int:
        return max(1, round(self.clock.timeline.quantum)) if self.clock.timeline is not None else 4

    def _relink(self, at: float, fresh: bool) -> None:
        """Anchor this run on the timeline: a fresh start at its next bar line; a run
        going on keeps its bar count, its tick count taken to its first pulse after `at`
        on the timeline's phase (a bar later rather than back: no beat is played twice)."""
        if fresh:
            self.clock.anchor(at, None)
            self.clock.ticks = 0
            return
        bars = self.clock.ticks // (PPQN * self._quantum())
        self.clock.anchor(at, bars)
        if self.clock.next_pulse(at) < self.clock.ticks:
            self.clock.anchor(at, bars + 1)
        self.clock.ticks = self.clock.next_pulse(at)

    def stop(self) -> None:
        now = self.output.now()
        if self.clock.playing and self.clock.linked() and self.config.clock.link_start_stop:
            assert self.clock.timeline is not None
            self.clock.timeline.propose_playing(False)
        if self.clock.playing and not self.clock.following(now):
            self.output.send(TransportStop(t=now))
        self.clock.stop()
        self._announced = (self.clock.ticks - 1) // PPQN  # a continue announces the next beat again
        if self._pulse is not None:
            self.output.drop(self._pulse)
            self._pulse = None
        self._forget_plan()
        self.state.set("playing", False)

    def set_tempo(self, bpm: float) -> None:
        if self.following():
            raise CommandError("following_clock", "tempo follows incoming MIDI clock")
        self.clock.internal_bpm = bpm
        self.state.set("tempo", round(bpm, 3))
        if self.clock.timeline is not None:
            # alone in the session too: the tempo a peer finds when it joins
            self.clock.timeline.propose_tempo(bpm)
        if self.clock.linked():
            self.timeline_changed()
        else:
            self._announce_again()

    def timeline_changed(self) -> None:
        """The session's tempo (or its peers) changed: the pending pulse and the beat
        announced ahead move to their new places on the timeline now, not a pulse later."""
        if not self.clock.linked():
            return
        now = self.output.now()
        bpm = round(self.clock.bpm(now), 3)
        self.clock.internal_bpm = bpm  # kept if the peers leave ("auto")
        if abs(bpm - self.state.values["tempo"]) >= 0.001:
            self.state.set("tempo", bpm)
        if self._pulse is None or not self._linked:
            return  # not playing, or the next pulse joins the timeline (see _internal_pulse)
        at = max(now, self.clock.pulse_time(self.clock.ticks))
        self.output.drop(self._pulse)
        self._schedule_pulse(at, self.clock.ticks)
        self._announce_again()

    def midi_tick(self, t: float) -> None:
        self._beat(self.clock.midi_tick(t), t)
        if self.clock.following(t):
            self._look_ahead(t)
        if self.clock.ticks % PPQN == 0:
            bpm = round(self.clock.bpm(t), 2)
            if abs(bpm - self.state.values["tempo"]) >= 0.5:
                self.state.set("tempo", bpm)

    def _schedule_pulse(self, at: float, index: int) -> None:
        """The pulse `index` of this run at `at`: a beat's pulse is a precise timer."""
        self._pulse_at = at
        self._pulse = self.output.call_at(at, lambda: self._internal_pulse(at), index % PPQN == 0)

    def _internal_pulse(self, at: float) -> None:
        # The next pulse first, from the previous target (not from now: no drift), so
        # nothing this pulse runs can stop the clock.
        linked = self.clock.linked()
        if linked and not self._linked:  # a peer came ("auto"): this run joins the timeline
            self._forget_plan()
            self._relink(at, fresh=False)
            self._linked = True
            self._schedule_pulse(self.clock.pulse_time(self.clock.ticks), self.clock.ticks)
            return
        left = self._linked and not linked
        if left:  # the last peer left: the pulses are planned ahead again, afresh
            self._forget_plan()
        self._linked = linked
        if linked:
            # the pulse after this one, where the timeline puts it now; a peer's jump
            # forward skips the pulses it passed over
            next_index = max(self.clock.ticks + 1, self.clock.next_pulse(at))
            self._schedule_pulse(self.clock.pulse_time(next_index), next_index)
        else:
            self._planned.pop(self.clock.ticks, None)
            planned = self._planned.get(self.clock.ticks + 1)
            after = at + self.clock.tick_period(at) if planned is None else planned
            if left:  # a pause of the lead, not a burst of the pulses now too late for an output
                after += self.output.lead
            self._schedule_pulse(after, self.clock.ticks + 1)
        if not self.clock.following(at):
            beat = self.clock.advance()
            if self.output.lead and not linked:
                self._plan_pulses(at)
            elif self.config.midi.clock_out:
                self.output.send(ClockTick(t=at))
            self._beat(beat, at)
            if linked:
                self.clock.ticks = next_index
            self._look_ahead(at)

    def _plan_pulses(self, now: float) -> None:
        """With a lead: the pulses from the next one (number `clock.ticks`, at `_pulse_at`)
        planned as far ahead as the lookahead holds, their clock scheduled when leading."""
        if not self.output.lead or self.clock.following(now) or self.clock.linked():
            return
        period = self.clock.tick_period(now)
        until = self._pulse_at + self.lookahead_s()  # the next plan is at the next pulse
        if not self._planned:
            self._planned[self.clock.ticks] = self._pulse_at
            self._tick_out(self._pulse_at)
        while (t := self._planned[n := next(reversed(self._planned))] + period) <= until:
            self._planned[n + 1] = t
            self._tick_out(t)

    def _forget_plan(self) -> None:
        """With a lead: take back the pulses planned ahead and the beat echo, also what has
        left for an output (a stop, or the pulses moving onto or off a timeline)."""
        if not self.output.lead:
            return
        self.output.unschedule(self._ticks_owner, on_the_way=True)
        self._planned.clear()
        if self._echo is not None:
            self.output.unschedule(self._echo, on_the_way=True)
            self._echo = None

    def _tick_out(self, t: float) -> None:
        if self.config.midi.clock_out:
            self.output.schedule(ClockTick(t=t), self._ticks_owner)

    def _look_ahead(self, at: float) -> None:
        """After the pulse at `at`: announce the next beat once it is a pulse away, or
        within the lookahead."""
        if not self.clock.playing:
            return
        pulses = -self.clock.ticks % PPQN + 1  # from the pulse at `at` to the next beat's
        n = (self.clock.ticks + pulses - 1) // PPQN
        if n <= self._announced:
            return
        if pulses > 1 and pulses * self.clock.tick_period(at) > self.lookahead_s():
            return  # not within the lookahead yet: no fit needed
        if self._linked:
            self._announce(n, self.clock.pulse_time(n * PPQN))
            return
        planned = self._planned.get(n * PPQN)
        self._announce(n, self.clock.predict(pulses, at) if planned is None else planned)

    def _announce_again(self) -> None:
        """The internal tempo changed: an announced beat that has not begun comes at
        another time. The next pulse keeps its time; those after it take the new tempo."""
        if self._pulse is None or self._announced < 0:
            return
        beat_pulse = self._announced * PPQN
        if beat_pulse < self.clock.ticks:
            return  # it has begun
        if self._linked:
            t = self.clock.pulse_time(beat_pulse)
        else:
            t = self._planned.get(beat_pulse)
            if t is None:
                t = self.clock.predict(beat_pulse - self.clock.ticks, self._pulse_at)
                if self._planned:  # after the pulses planned, at the new tempo
                    n, last = next(reversed(self._planned.items()))
                    t = self.clock.predict(beat_pulse - n, last)
        self._echo_ahead(self._announced, t)
        self._upcoming_sessions(self._announced, t)

    def _announce(self, n: int, t: float) -> None:
        self._announced = n
        self._echo_ahead(n, t)
        self._upcoming_sessions(n, t)

    def _echo_ahead(self, n: int, t: float) -> None:
        """With a lead, the beat echo is scheduled as the beat is announced (again); linked,
        it goes out on the beat (`_beat`), as the timeline may still move it."""
        if not self.output.lead or self._linked:
            return
        if self._echo is not None and self._echo.n == n:
            if self._echo.t == t:
                return
            self.output.unschedule(self._echo, on_the_way=True)
        self._echo = Beat(n, t=t)
        self.output.schedule(self._echo, self._echo)

    def _beat(self, n: int | None, t: float) -> None:
        if n is None:
            return
        self.clock.mark_beat(n, t)
        if self._echo is None or self._echo.n != n:  # not echoed ahead
            self.output.send(Beat(n, t=t))
        self._beat_sessions(n, t)
