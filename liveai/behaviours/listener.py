"""A session's ears: what is played is encoded and fed to its model state as it arrives.

When the model must answer it is already up to date; no past is re-read. Generated
notes that sound are accounted for too, so the model's clock and the player's agree.
What is heard within FEED_GRACE_S (a chord; a note-off and the next note-on when the
player plays legato) goes to the worker as one feed, and always before a job that
needs it: each feed is a model call, and an answer waits for the calls before it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..core.context import Context
from ..core.jobs import Job, JobHandle
from ..core.keys import Key
from ..core.output import Timer
from ..events import NoteOff, NoteOn
from ..models import codec
from ..models.sampling import Sampler
from ..music.note import Note
from . import jobs

MAX_SILENCE_STEPS = 300  # a pause longer than 3 s is fed as 3 s: a rest is a rest
PLAYER_MEMORY = 48  # notes the player's key is judged on
FEED_GRACE_S = 0.001  # what is heard within 1 ms is fed as one


class Listener:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        seed = ctx.config.model.seed
        self.sampler = Sampler(seed=None if seed < 0 else seed)  # used on the worker thread only
        self.rng = np.random.default_rng(None if seed < 0 else seed)  # likewise (fast small draws)
        self.encoder = codec.StreamingEncoder()
        self.channel = 0  # where answers go: the player's last channel
        self._unfed: list[int] = []
        self._feed: JobHandle | None = None  # the latest feed job
        self._grace: Timer | None = None  # feeds what was heard when the grace ends
        self.played: deque[Note] = deque(maxlen=PLAYER_MEMORY)  # the player's recent notes

    @contextmanager
    def hearing(self, event: NoteOn | NoteOff, key: Key) -> Iterator[None]:
        """A note the player played, heard once, by the session, around the behaviour's
        turn: encoded for the model and remembered (the duet follows the player's key,
        not its own) before it; fed after it, unless a job the behaviour asked for fed
        it already."""
        if isinstance(event, NoteOn):
            self.channel = event.channel
            self.encode("on", event.pitch, event.velocity, event.t)
        else:
            self.encode("off", event.pitch, 0, event.t)
            self.played.append(Note(key.start, max(event.t, key.start + 0.01), event.pitch, key.velocity))
        try:
            yield
        finally:
            self.flush()

    def encode(self, kind: str, pitch: int, velocity: int, t: float) -> None:
        """Encode a note event; it is fed at the next `flush` or `submit`."""
        self._unfed += _cap_silence(self.encoder.feed(kind, pitch, velocity, t))  # type: ignore[arg-type]

    def flush(self) -> None:
        """Feed what was heard once the grace has passed. While an earlier feed of this
        session is still waiting on the worker, new notes join the next one: a model
        slower than the player falls behind by one prefill, never by a growing queue."""
        if self._unfed and self._grace is None:
            self._grace = self.ctx.call_at(self.ctx.now() + FEED_GRACE_S, self._feed_unfed)

    def submit(self, job: Job, done: Callable[[Any], None] | None = None) -> JobHandle | None:
        """A model job for this session, after everything heard so far."""
        if self._unfed:
            self._submit_feed()
        return self.ctx.submit(job, done)

    def _feed_unfed(self) -> None:
        self._grace = None
        if not self._unfed:
            return
        if self._feeding():  # look again after another grace, once that feed is done
            self._grace = self.ctx.call_at(self.ctx.now() + FEED_GRACE_S, self._feed_unfed)
        else:
            self._submit_feed()

    def _submit_feed(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        tokens, self._unfed = self._unfed, []
        self._feed = self.ctx.submit(jobs.feed(tokens, self.sampler))

    def _feeding(self) -> bool:
        return self._feed is not None and not self._feed.done()

    def heard_own(self, token: int, t: float) -> None:
        """A generated token the model already consumed, sounding at time `t`."""
        self.encoder.observe(token, t)

    def rewind(self, t: float) -> None:
        """Generated tokens were withdrawn (an answer cut short): the next played note is
        timed from `t`, not from where generation had got to."""
        self.encoder.resync(t)

    def end_model_notes(self) -> None:
        """A generated part ended (cut short, or at its length): the notes the model
        began and nobody will end now end for the model too, else it and its sampler
        believe them sounding for ever and the polyphony limit silences later answers.
        Done on the worker, after the part's last job: it also sees tokens sampled
        there whose reply never reached the loop. The keys the player holds stay."""
        held = self.ctx.keys.pitches()
        for pitch in self.encoder.sounding - held:
            self.encoder.observe(codec.note_off(pitch))
        self.submit(jobs.end_notes(self.sampler, held))

    def reset(self, prime: list[int] | None = None) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self._unfed = []
        self.encoder.reset()
        self.ctx.submit(jobs.restart(self.sampler, prime))


def _cap_silence(tokens: list[int]) -> list[int]:
    shifts = 0
    for token in tokens:
        if not codec.is_time_shift(token):
            break
        shifts += 1
    if shifts == 0:
        return tokens
    steps = sum(codec.time_shift_steps(t) for t in tokens[:shifts])
    return codec.time_shift_tokens(min(steps, MAX_SILENCE_STEPS)) + tokens[shifts:]
