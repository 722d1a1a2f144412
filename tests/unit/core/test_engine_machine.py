"""The engine as a state machine: hypothesis plays notes from several players (shared and
per-source sessions), the sustain pedal, CC 121, retriggers, mode changes (for the whole
server or one player), stop, play, panic, lost inputs and the passing of time, and after
every step the notes the sink hears are checked against a model of what should sound.

The model is the players' own view, kept here and not read from the engine: a key
sounds in thru while it is held or the pedal holds it, a rule harmony's voices sound
with their key, off sounds nothing, a panic is silence, a lost input ends its player's
keys and pedal (its player's, of every source it played from; what plays alone plays
on). Where the music is the model's to choose (the model harmonizer, duet,
autopilot), the exact claim is "nothing sounds without a live cause": a voice only on
a channel where a key of a harmonizing player is live, a generator's notes only on the
channels it plays on and only while its mode runs. At the end every key and pedal is
lifted and the mode set to off: then nothing sounds.

A panic or a stop halts every session: nothing it had sounds, and its mode waits. Play or
a mode command resumes it; for a mode that answers the player (thru, harmonize, duet), so
does the player's next note or controller; an autopilot, which plays alone, only the
former. While a panic holds, a newcomer's session opens halted too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakes import make_engine, make_model_engine, run_until
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from liveai.behaviours.rule_harmonize import voices_for
from liveai.config import Config
from liveai.events import ControlChange, InputLost, NoteOff, NoteOn

# Who plays: one OSC host on two ports (oscsend opens a new port per message), another
# host, a MIDI keyboard. The player a source is, as per_source sessions key it.
PLAYER_OF = {
    "osc:10.0.0.1:5001": "osc:10.0.0.1",
    "osc:10.0.0.1:5002": "osc:10.0.0.1",
    "osc:10.0.0.2:7000": "osc:10.0.0.2",
    "midi:keys": "midi:keys",
}
sources = st.sampled_from(sorted(PLAYER_OF))
pitches = st.sampled_from([48, 60, 62, 64, 67, 72])  # few: retriggers and shared voices happen
channels = st.integers(0, 1)
GENERATORS = ("duet", "autopilot")  # they play on their own
ANSWER_S = 0.1  # how often the inline model port answers while time passes
LISTEN_S = 4.0  # after a panic or a stop: long enough for an autopilot's next chunks
PLAYS_ALONE = ("autopilot",)  # the player's notes do not resume it after a halt


@dataclass
class Player:
    """One session as its player knows it."""

    mode: str
    held: set[tuple[int, int]] = field(default_factory=set)  # (channel, pitch) keys down
    sustained: set[tuple[int, int]] = field(default_factory=set)  # released keys the pedal holds
    pedal: set[int] = field(default_factory=set)  # channels whose pedal the player holds down
    echoed: set[int] = field(default_factory=set)  # pedal channels its thru passed on to the synth
    channels: set[int] = field(default_factory=set)  # every channel it played on (a duet answers there)
    halted: str | None = None  # "panic" or "stop" while its mode waits to be resumed
    held_by: dict[tuple[int, int], str] = field(default_factory=dict)  # key -> the player who struck it
    sustained_by: dict[tuple[int, int], str] = field(default_factory=dict)  # key -> who let it go
    pedal_by: dict[int, set[str]] = field(default_factory=dict)  # channel -> the players whose foot is down

    def live(self) -> set[tuple[int, int]]:
        return self.held | self.sustained

    def forget(self) -> None:
        """Its session released: keys forgotten (the foot on the pedal stays)."""
        self.held.clear()
        self.sustained.clear()
        self.echoed.clear()
        self.held_by.clear()
        self.sustained_by.clear()

    def played(self) -> None:
        """A note or a controller: a halted mode that answers the player resumes."""
        if self.halted is not None and self.mode not in PLAYS_ALONE:
            self.halted = None

    def resumed(self, mode: str) -> None:
        """Play, or a mode command (which releases what it sounded)."""
        self.mode, self.halted = mode, None


class EngineMachine(RuleBasedStateMachine):
    with_models = False  # True: a tiny model on an inline port, so duet and autopilot run

    def __init__(self) -> None:
        super().__init__()
        self.players: dict[str, Player] = {}
        self.synth_pedal: set[int] = set()  # channels whose pedal the synth was told is down
        self.panicked = False  # until play, a mode, or every session halted by it resumed
        self.port = None

    @initialize(sessions=st.sampled_from(["shared", "per_source"]), data=st.data())
    def open(self, sessions: str, data: st.DataObject) -> None:
        mode = data.draw(self.modes())  # a generator too (with models): it plays from the start
        self.per_source = sessions == "per_source"
        self.mode = mode  # the server's mode: what a new session starts in
        if self.with_models:
            self.engine, self.clock, self.sink, self.port = make_model_engine(mode, server__sessions=sessions)
            self.rule = None
        else:
            config = Config()
            config.server.mode, config.server.sessions = mode, sessions
            self.engine, self.clock, self.sink = make_engine(config)
            self.rule = self.engine.config.harmonize
            self.engine.start()
        if not self.per_source:
            self.players["main"] = Player(mode)  # start() opened it

    # -- the model --------------------------------------------------------------------
    def player(self, source: str) -> Player:
        """The session an event from `source` reaches (the engine opens it, in the server's mode)."""
        key = PLAYER_OF[source] if self.per_source else "main"
        if key not in self.players:  # a newcomer during a panic waits too
            self.players[key] = Player(self.mode, halted="panic" if self.panicked else None)
        return self.players[key]

    def settled(self) -> None:
        """After an event or a player's mode: the panic is over once no session waits on it."""
        if self.players and not any(p.halted == "panic" for p in self.players.values()):
            self.panicked = False

    def released(self, player: Player) -> None:
        self.synth_pedal -= player.echoed
        player.forget()

    def sounds(self, player: Player) -> set[tuple[int, int]]:
        """What the player's session sounds, exactly, where the music is not the model's choice."""
        keys = player.live()
        if player.halted is not None:
            return set()
        if player.mode == "thru":
            return keys
        if player.mode == "harmonize" and self.rule is not None:
            return {(ch, v) for ch, p in keys for v in voices_for(self.rule, p)}
        return set()

    def may_sound(self, player: Player, key: tuple[int, int]) -> bool:
        """Whether `key` has a live cause in this player's session."""
        channel = key[0]
        if key in self.sounds(player):
            return True
        if player.halted is not None:  # a halted mode sounds nothing, generator or not
            return False
        if player.mode == "harmonize" and self.rule is None:
            return channel in {ch for ch, _ in player.live()}  # the model's voices, with a live key
        if player.mode == "duet":
            return channel in player.channels
        if player.mode == "autopilot":
            return channel == self.engine.config.autopilot.channel - 1
        return False

    # -- the player's actions ---------------------------------------------------------
    @rule(source=sources, pitch=pitches, velocity=st.integers(1, 127), channel=channels)
    def note_on(self, source: str, pitch: int, velocity: int, channel: int) -> None:
        player = self.player(source)
        self.engine.handle(NoteOn(pitch, velocity, channel, t=self.clock.t, source=source))
        player.played()
        player.held.add((channel, pitch))
        player.held_by[(channel, pitch)] = PLAYER_OF[source]
        player.sustained.discard((channel, pitch))
        player.sustained_by.pop((channel, pitch), None)
        player.channels.add(channel)
        self.settled()

    @precondition(lambda self: any(p.live() for p in self.players.values()))
    @rule(data=st.data(), velocity=st.integers(1, 127))
    def retrigger(self, data: st.DataObject, velocity: int) -> None:
        """A key that sounds (held, or held by the pedal) struck again."""
        source, (channel, pitch) = data.draw(st.sampled_from(self.live_keys()))
        self.note_on(source, pitch, velocity, channel)

    @precondition(lambda self: any(p.held for p in self.players.values()))
    @rule(data=st.data())
    def release_a_key(self, data: st.DataObject) -> None:
        source, (channel, pitch) = data.draw(st.sampled_from(self.live_keys(held_only=True)))
        self.note_off(source, pitch, channel)

    @rule(source=sources, pitch=pitches, velocity=st.integers(1, 127), channel=channels)
    def note_under_the_pedal(self, source: str, pitch: int, velocity: int, channel: int) -> None:
        """The pedal down (again), a key struck and let go: the pedal holds it."""
        self.pedal_down(source, channel, 127)
        self.note_on(source, pitch, velocity, channel)
        self.note_off(source, pitch, channel)

    @rule(source=sources, pitch=pitches, channel=channels)
    def note_off(self, source: str, pitch: int, channel: int) -> None:
        """A note-off, of a key held or not (a stray one ends nothing)."""
        player = self.player(source)
        self.engine.handle(NoteOff(pitch, channel, t=self.clock.t, source=source))
        if (channel, pitch) in player.held:
            player.held.discard((channel, pitch))
            player.held_by.pop((channel, pitch))
            if channel in player.pedal:
                player.sustained.add((channel, pitch))
                player.sustained_by[(channel, pitch)] = PLAYER_OF[source]
        self.settled()

    @rule(source=sources, channel=channels, value=st.integers(64, 127))
    def pedal_down(self, source: str, channel: int, value: int) -> None:
        player = self.player(source)
        self.engine.handle(ControlChange(64, value, channel, t=self.clock.t, source=source))
        player.played()
        player.pedal.add(channel)
        player.pedal_by.setdefault(channel, set()).add(PLAYER_OF[source])
        if player.mode == "thru" and player.halted is None:
            player.echoed.add(channel)
            self.synth_pedal.add(channel)
        self.settled()

    @rule(source=sources, channel=channels, controller=st.sampled_from([64, 121]), value=st.integers(0, 63))
    def pedal_up(self, source: str, channel: int, controller: int, value: int) -> None:
        """CC 64 below 64, or CC 121 (reset all controllers) at any value."""
        player = self.player(source)
        self.engine.handle(ControlChange(controller, value, channel, t=self.clock.t, source=source))
        player.played()
        self.lift(player, channel)
        self.settled()

    def lift(self, player: Player, channel: int) -> None:
        """The pedal of `channel` comes up, whoever pressed it: the keys it held end."""
        player.pedal.discard(channel)
        player.pedal_by.pop(channel, None)
        for key in [k for k in player.sustained if k[0] == channel]:
            player.sustained.discard(key)
            player.sustained_by.pop(key, None)
        if player.mode == "thru" and player.halted is None:  # thru passes it on: the synth's pedal comes up
            player.echoed.discard(channel)
            self.synth_pedal.discard(channel)

    # -- commands -----------------------------------------------------------------------
    def modes(self) -> st.SearchStrategy[str]:
        return st.sampled_from(["off", "thru", "harmonize", *(GENERATORS if self.with_models else ())])

    @rule(data=st.data())
    def set_mode(self, data: st.DataObject) -> None:
        """For every session, and the ones to come."""
        mode = data.draw(self.modes())
        self.engine.set_mode(mode)
        self.mode = mode
        self.panicked = False
        for player in self.players.values():
            self.released(player)
            player.resumed(mode)

    @rule(source=sources, data=st.data())
    def set_mode_of(self, source: str, data: st.DataObject) -> None:
        """A player's own mode command (per_source; shared, it is everyone's)."""
        if not self.per_source:
            return self.set_mode(data)
        mode = data.draw(self.modes())
        player = self.player(source)
        self.engine.set_mode(mode, source)
        self.released(player)
        player.resumed(mode)
        self.settled()

    @rule()
    def panic(self) -> None:
        self.engine.panic()
        self.panicked = True
        for player in self.players.values():
            self.released(player)
            player.halted = "panic"
        self.synth_pedal.clear()  # pedal up on every channel
        assert self.sink.sounding() == set(), "a panic is silence"
        assert self.sink.pedal() == set()

    @rule()
    def stop(self) -> None:
        """Every note ends and every mode waits (a stop after a panic leaves it the panic's)."""
        self.engine.stop()
        for player in self.players.values():
            self.released(player)
            player.halted = player.halted or "stop"

    @rule()
    def play(self) -> None:
        self.engine.play()
        self.panicked = False
        for player in self.players.values():
            player.resumed(player.mode)

    @rule(
        halt=st.sampled_from(["panic", "stop"]),
        source=sources,
        pitch=pitches,
        channel=channels,
        note=st.sampled_from([None, "before", "after"]),
    )
    def halt_and_listen(self, halt: str, source: str, pitch: int, channel: int, note: str | None) -> None:
        """A panic or a stop, then the room listens a while: no generator plays on. A note
        just before it leaves a duet's answer due; a note after it resumes only the modes
        that answer the player (an autopilot stays stopped)."""
        if note == "before":
            self.note_on(source, pitch, 90, channel)
            self.note_off(source, pitch, channel)
        getattr(self, halt)()
        if note == "after":
            self.note_on(source, pitch, 90, channel)
            self.note_off(source, pitch, channel)
        self.advance(LISTEN_S)

    @rule(source=sources)
    def input_lost(self, source: str) -> None:
        """Unplugged: its player's keys come up and its foot leaves the pedal (the pedal
        lifts unless another player holds it); the session and its mode play on."""
        key = PLAYER_OF[source] if self.per_source else "main"
        who = PLAYER_OF[source]
        self.engine.handle(InputLost(t=self.clock.t, source=source))
        player = self.players.get(key)
        if player is None:
            return self.settled()
        for channel in [c for c, by in player.pedal_by.items() if who in by]:
            player.pedal_by[channel].discard(who)
            if not player.pedal_by[channel]:
                self.lift(player, channel)
        for k in [k for k, by in player.held_by.items() if by == who]:
            player.held.discard(k)
            del player.held_by[k]
        for k in [k for k, by in player.sustained_by.items() if by == who]:
            player.sustained.discard(k)
            del player.sustained_by[k]
        self.settled()

    @rule(seconds=st.sampled_from([0.001, 0.01, 0.1, 0.5, 2.0]))
    def advance(self, seconds: float) -> None:
        """Time passes: model answers arrive, due notes and timers run. Nothing the player
        does meanwhile, so every note begun, even one already over, needs a live cause now."""
        begun, until = len(self.sink.sent), self.clock.t + seconds
        while self.clock.t < until:  # the model answers as it goes, as a real port does
            self.flush()
            run_until(self.engine, self.clock, min(until, self.clock.t + ANSWER_S))
        started = {
            (e.channel, e.pitch) for _, e in self.sink.sent[begun:] if isinstance(e, NoteOn) and e.velocity
        }
        uncaused = {k for k in started if not any(self.may_sound(p, k) for p in self.players.values())}
        assert not uncaused, f"began without a live cause: {sorted(uncaused)}"

    def flush(self) -> None:
        if self.port is not None:
            self.port.flush()

    def live_keys(self, held_only: bool = False) -> list[tuple[str, tuple[int, int]]]:
        """(a source of the player, key) for every key held (or held by the pedal)."""
        source_of = {PLAYER_OF[s] if self.per_source else "main": s for s in sorted(PLAYER_OF)}
        return [
            (source_of[name], key)
            for name, p in sorted(self.players.items())
            for key in sorted(p.held if held_only else p.live())
        ]

    # -- after every step ---------------------------------------------------------------
    @invariant()
    def what_sounds_is_what_should(self) -> None:
        if not hasattr(self, "engine"):
            return
        heard = self.sink.sounding()
        must = set().union(*(self.sounds(p) for p in self.players.values()))
        assert must <= heard, f"should sound and does not: {sorted(must - heard)}"
        uncaused = {k for k in heard if not any(self.may_sound(p, k) for p in self.players.values())}
        assert not uncaused, f"sounds without a live cause: {sorted(uncaused)}"
        if self.rule is not None:  # no model: what sounds is exact
            may = set().union(*(self.sounds(p) for p in self.players.values()))
            assert heard <= may, f"should not sound: {sorted(heard - may)}"
        assert self.sink.pedal() == self.synth_pedal
        assert self.engine.state["panicked"] == self.panicked
        assert heard == set(self.engine.output.tracker.sounding)
        assert self.sink.stacked == 0, "a note-on for a note already sounding"

    def teardown(self) -> None:
        """Every key and pedal up, the mode off: then nothing sounds, with no shutdown."""
        if not hasattr(self, "engine"):
            return
        for source, (channel, pitch) in self.live_keys(held_only=True):
            self.note_off(source, pitch, channel)
        for source in sorted(PLAYER_OF):
            for channel in sorted(self.player(source).pedal):
                self.pedal_up(source, channel, 64, 0)
        self.engine.set_mode("off")
        for _ in range(20):
            self.flush()
            run_until(self.engine, self.clock, self.clock.t + 1)
        assert self.sink.sounding() == set() and self.sink.pedal() == set()
        assert self.engine.output.tracker.sounding == frozenset()


class ModelEngineMachine(EngineMachine):
    with_models = True


# Derandomized by the "liveai" profile (tests/conftest.py): the same runs every time.
TestEngineByRule = EngineMachine.TestCase
TestEngineByRule.settings = settings(max_examples=500, stateful_step_count=50, deadline=None)
TestEngineWithModels = ModelEngineMachine.TestCase
TestEngineWithModels.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
