"""Performance-event codec (the Performance RNN vocabulary) plus START and PAD.

Token layout (VOCAB_SIZE = 390):

| range     | meaning                                             |
|-----------|-----------------------------------------------------|
| 0-127     | NOTE_ON pitch                                       |
| 128-255   | NOTE_OFF pitch                                      |
| 256-355   | TIME_SHIFT of (i + 1) * 10 ms, i.e. 10 ms .. 1000 ms  |
| 356-387   | VELOCITY bin (32 bins of 4 MIDI velocities)         |
| 388       | START (every piece / session begins with it)        |
| 389       | PAD                                                 |

Event times are quantised to the 10 ms grid; a velocity token is emitted only before
a note-on whose velocity bin differs from the previous one. No file I/O here: MIDI
files are read and written in `liveai.data.midi`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ..music.note import Note

N_PITCHES = 128
N_TIME_SHIFTS = 100
N_VELOCITY_BINS = 32
TIME_STEP_S = 0.01  # one TIME_SHIFT step
VELOCITY_BIN_WIDTH = 4  # 32 bins * 4 = 128 velocities

NOTE_ON_OFFSET = 0
NOTE_OFF_OFFSET = NOTE_ON_OFFSET + N_PITCHES  # 128
TIME_SHIFT_OFFSET = NOTE_OFF_OFFSET + N_PITCHES  # 256
VELOCITY_OFFSET = TIME_SHIFT_OFFSET + N_TIME_SHIFTS  # 356
START = VELOCITY_OFFSET + N_VELOCITY_BINS  # 388
PAD = START + 1  # 389
VOCAB_SIZE = PAD + 1  # 390

TIME_SHIFT_RANGE = range(TIME_SHIFT_OFFSET, VELOCITY_OFFSET)

DEFAULT_VELOCITY = 64  # used by the decoder until the first VELOCITY token


# --- token helpers --------------------------------------------------------------


def note_on(pitch: int) -> int:
    return NOTE_ON_OFFSET + pitch


def note_off(pitch: int) -> int:
    return NOTE_OFF_OFFSET + pitch


def time_shift(steps: int) -> int:
    """Token for a shift of `steps` * 10 ms, 1 <= steps <= 100."""
    if not 1 <= steps <= N_TIME_SHIFTS:
        raise ValueError(f"time shift steps must be in 1..{N_TIME_SHIFTS}, got {steps}")
    return TIME_SHIFT_OFFSET + steps - 1


def is_note_on(token: int) -> bool:
    return NOTE_ON_OFFSET <= token < NOTE_OFF_OFFSET


def is_note_off(token: int) -> bool:
    return NOTE_OFF_OFFSET <= token < TIME_SHIFT_OFFSET


def is_time_shift(token: int) -> bool:
    return TIME_SHIFT_OFFSET <= token < VELOCITY_OFFSET


def is_velocity(token: int) -> bool:
    return VELOCITY_OFFSET <= token < START


def token_pitch(token: int) -> int:
    """Pitch of a NOTE_ON or NOTE_OFF token."""
    if is_note_on(token):
        return token - NOTE_ON_OFFSET
    if is_note_off(token):
        return token - NOTE_OFF_OFFSET
    raise ValueError(f"token {token} is not a note token")


def time_shift_steps(token: int) -> int:
    """Number of 10 ms steps of a TIME_SHIFT token."""
    if not is_time_shift(token):
        raise ValueError(f"token {token} is not a time shift")
    return token - TIME_SHIFT_OFFSET + 1


def velocity_to_bin(velocity: int) -> int:
    v = min(max(int(velocity), 1), 127)
    return (v - 1) // VELOCITY_BIN_WIDTH


def bin_to_velocity(bin_: int) -> int:
    """Middle of the bin, so a decoded velocity is within one bin of the original."""
    return min(bin_ * VELOCITY_BIN_WIDTH + 2, 127)


def time_shift_tokens(steps: int) -> list[int]:
    """TIME_SHIFT tokens covering `steps` * 10 ms (maximal shifts first)."""
    out: list[int] = []
    while steps > 0:
        s = min(steps, N_TIME_SHIFTS)
        out.append(time_shift(s))
        steps -= s
    return out


def describe_vocab() -> dict[str, object]:
    """Plain-type description stored in checkpoints so a loader can check compatibility."""
    return {
        "name": "performance-rnn-v1",
        "vocab_size": VOCAB_SIZE,
        "note_on": [NOTE_ON_OFFSET, N_PITCHES],
        "note_off": [NOTE_OFF_OFFSET, N_PITCHES],
        "time_shift": [TIME_SHIFT_OFFSET, N_TIME_SHIFTS],
        "time_step_s": TIME_STEP_S,
        "velocity": [VELOCITY_OFFSET, N_VELOCITY_BINS],
        "start": START,
        "pad": PAD,
    }


# --- offline encoding -----------------------------------------------------------


def _quantise(t: float) -> int:
    return int(round(t / TIME_STEP_S))


def normalise_notes(notes: Iterable[Note]) -> list[Note]:
    """Quantise to the 10 ms grid and make each pitch monophonic.

    A note shorter than one step is lengthened to one step; a note that overlaps a
    later note of the same pitch is cut where the later one starts (a NOTE_ON for a
    sounding pitch would be ambiguous). Result sorted by (start, pitch).
    """
    by_pitch: dict[int, list[tuple[int, int, int]]] = {}
    for n in notes:
        pitch = int(n.pitch)
        if not 0 <= pitch < N_PITCHES:
            continue
        s = max(_quantise(n.start), 0)
        e = max(_quantise(n.end), s + 1)
        by_pitch.setdefault(pitch, []).append((s, e, int(n.velocity)))
    out: list[tuple[int, int, int, int]] = []
    for pitch, items in by_pitch.items():
        items.sort()
        for i, (s, e, v) in enumerate(items):
            if i + 1 < len(items):
                nxt = items[i + 1][0]
                if nxt == s:
                    continue  # duplicate onset: keep the later copy only
                e = min(e, nxt)
            out.append((s, e, pitch, v))
    out.sort(key=lambda x: (x[0], x[2]))
    return [Note(s * TIME_STEP_S, e * TIME_STEP_S, p, v) for s, e, p, v in out]


def encode_notes(notes: Iterable[Note], *, start_token: bool = False) -> list[int]:
    """Tokens for a list of timed notes; time 0 is the origin (no leading shift)."""
    norm = normalise_notes(notes)
    # (time step, order, pitch, velocity): offs before ons at the same instant.
    events: list[tuple[int, int, int, int]] = []
    for n in norm:
        events.append((_quantise(n.start), 1, n.pitch, n.velocity))
        events.append((_quantise(n.end), 0, n.pitch, 0))
    events.sort()
    tokens: list[int] = [START] if start_token else []
    now = 0
    current_bin: int | None = None
    for t, order, pitch, velocity in events:
        tokens.extend(time_shift_tokens(t - now))
        now = t
        if order == 0:
            tokens.append(note_off(pitch))
        else:
            b = velocity_to_bin(velocity)
            if b != current_bin:
                tokens.append(VELOCITY_OFFSET + b)
                current_bin = b
            tokens.append(note_on(pitch))
    return tokens


# --- decoding -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """One note event from StreamingDecoder; `t` in seconds since the decoder's origin."""

    kind: Literal["on", "off"]
    pitch: int
    velocity: int
    t: float


class StreamingDecoder:
    """Turns tokens, one at a time, into timed note events (for live output)."""

    def __init__(self) -> None:
        self.steps = 0  # elapsed 10 ms steps
        self.velocity = DEFAULT_VELOCITY
        self.sounding: dict[int, int] = {}  # pitch -> onset step

    @property
    def time(self) -> float:
        return self.steps * TIME_STEP_S

    def feed(self, token: int) -> list[DecodedEvent]:
        token = int(token)
        if is_time_shift(token):
            self.steps += time_shift_steps(token)
            return []
        if is_velocity(token):
            self.velocity = bin_to_velocity(token - VELOCITY_OFFSET)
            return []
        if is_note_on(token):
            pitch = token_pitch(token)
            out: list[DecodedEvent] = []
            if pitch in self.sounding:  # re-strike: close the sounding one first
                out.append(DecodedEvent("off", pitch, 0, self.time))
            self.sounding[pitch] = self.steps
            out.append(DecodedEvent("on", pitch, self.velocity, self.time))
            return out
        if is_note_off(token):
            pitch = token_pitch(token)
            if self.sounding.pop(pitch, None) is None:
                return []  # orphan note-off: nothing sounds, nothing to do
            return [DecodedEvent("off", pitch, 0, self.time)]
        return []  # START, PAD


def decode_tokens(tokens: Iterable[int]) -> list[Note]:
    """Timed notes of a token stream; notes never closed end at the last time
    (at least one step after their onset)."""
    dec = StreamingDecoder()
    open_notes: dict[int, tuple[int, int]] = {}  # pitch -> (onset step, velocity)
    out: list[Note] = []
    for tok in tokens:
        for ev in dec.feed(tok):
            if ev.kind == "on":
                open_notes[ev.pitch] = (dec.steps, ev.velocity)
            else:
                s, v = open_notes.pop(ev.pitch)
                out.append(Note(s * TIME_STEP_S, dec.steps * TIME_STEP_S, ev.pitch, v))
    for pitch, (s, v) in open_notes.items():
        e = max(dec.steps, s + 1)
        out.append(Note(s * TIME_STEP_S, e * TIME_STEP_S, pitch, v))
    out.sort(key=lambda n: (n.start, n.pitch))
    return out


# --- live encoding --------------------------------------------------------------


class StreamingEncoder:
    """Encodes live timestamped note events; the time shift for the elapsed time is
    emitted when the next event arrives.

    Keeps the quantised time of the last emitted event, so rounding never drifts.
    Mirrors the offline encoder: a note-on for a sounding pitch first closes it, a
    note-off for a silent pitch emits nothing, velocity 0 means note-off.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._last_step: int | None = None
        self._bin: int | None = None
        self.sounding: set[int] = set()

    def _shift_to(self, t: float) -> list[int]:
        step = _quantise(t)
        if self._last_step is None:
            self._last_step = step
            return []
        delta = step - self._last_step
        if delta <= 0:
            return []  # same instant (or clock jitter backwards): no shift
        self._last_step = step
        return time_shift_tokens(delta)

    def feed(self, kind: Literal["on", "off"], pitch: int, velocity: int, t: float) -> list[int]:
        """Tokens for one event at time `t` (seconds, any monotonic origin)."""
        if not 0 <= pitch < N_PITCHES:
            raise ValueError(f"pitch must be in 0..127, got {pitch}")
        if kind == "on" and velocity <= 0:
            kind = "off"
        if kind == "off":
            if pitch not in self.sounding:
                return []
            self.sounding.discard(pitch)
            return self._shift_to(t) + [note_off(pitch)]
        if kind != "on":
            raise ValueError(f"kind must be 'on' or 'off', got {kind!r}")
        tokens = self._shift_to(t)
        if pitch in self.sounding:
            tokens.append(note_off(pitch))
        b = velocity_to_bin(velocity)
        if b != self._bin:
            tokens.append(VELOCITY_OFFSET + b)
            self._bin = b
        tokens.append(note_on(pitch))
        self.sounding.add(pitch)
        return tokens

    def observe(self, token: int, t: float | None = None) -> None:
        """Account for a token the model emitted itself (so velocity/time bookkeeping
        stays consistent when a session interleaves played and generated tokens).
        `t` is the wall time the token corresponds to, if known."""
        if is_velocity(token):
            self._bin = token - VELOCITY_OFFSET
        elif is_note_on(token):
            self.sounding.add(token_pitch(token))
        elif is_note_off(token):
            self.sounding.discard(token_pitch(token))
        if t is not None and self._last_step is not None:
            self._last_step = max(self._last_step, _quantise(t))

    def resync(self, t: float) -> None:
        """Take `t` as the time of the last event (after generated tokens that were
        consumed by the model were withdrawn before they sounded)."""
        if self._last_step is not None:
            self._last_step = _quantise(t)
