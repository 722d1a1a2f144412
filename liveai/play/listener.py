"""A session's ears: what is played is encoded and fed to its model state as it arrives.

When the model must answer it is already up to date; no past is re-read. Generated
notes that sound are accounted for too, so the model's clock and the player's agree.
"""

from __future__ import annotations

from ..core.context import Context
from ..models import codec
from ..models.sampling import Sampler
from . import jobs

MAX_SILENCE_STEPS = 300  # a pause longer than 3 s is fed as 3 s: a rest is a rest


class Listener:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        seed = ctx.config.model.seed
        self.sampler = Sampler(seed=None if seed < 0 else seed)  # used on the worker thread only
        self.encoder = codec.StreamingEncoder()
        self.channel = 0  # where answers go: the player's last channel

    def hear(self, kind: str, pitch: int, velocity: int, t: float) -> None:
        tokens = _cap_silence(self.encoder.feed(kind, pitch, velocity, t))  # type: ignore[arg-type]
        if tokens:
            self.ctx.submit(jobs.feed(tokens, self.sampler))

    def heard_own(self, token: int, t: float) -> None:
        """A generated token the model already consumed, sounding at time `t`."""
        self.encoder.observe(token, t)

    def rewind(self, t: float) -> None:
        """Generated tokens were withdrawn (an answer cut short): the next played note is
        timed from `t`, not from where generation had got to."""
        self.encoder.resync(t)

    def reset(self, prime: list[int] | None = None) -> None:
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
