"""The token stepper: one model, a state per session kept resident on its device, and
the steps that feed sessions their tokens, batched when that pays.

Work comes as feeds: a session and what it wants fed next (a token, or a list of
tokens). One session alone takes a list in one prefill. When several sessions wait,
their short lists are fed together: padded in one call where the model can (the
GRU's `prefill_rows`), else in lockstep a token at a time, so every step serves all
of them; a long list, a phrase to prime, still prefills alone. Every step is timed.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from ..core.stats import percentiles_ms
from ..models import codec
from ..models.base import ContinuationModel, stack_states

log = logging.getLogger(__name__)

_TIMINGS = 4096  # recent step durations kept for percentiles
LOCKSTEP_MAX_TOKENS = 8  # longer lists prefill alone even when other sessions wait
# What each session was fed lately, to prime a new model with when the weights change
# (a few seconds of playing: enough for the key and the pace, one short prefill).
HISTORY_TOKENS = 64
# Batching copies the states in and out at every step: worth it for a GRU's hidden
# state (KBs), not for a Transformer's KV cache (MBs), whose sessions step one by one.
BATCH_STATE_LIMIT = 256 * 1024


class Feed(Protocol):
    """A session waiting for tokens to be fed: `feed` is a token or a list of tokens
    (None: nothing fed yet, START first); the stepper shortens a list it fed in part."""

    session: str
    feed: Any


@dataclass
class _Timings:
    step_s: deque[float] = field(default_factory=lambda: deque(maxlen=_TIMINGS))
    batch: deque[int] = field(default_factory=lambda: deque(maxlen=_TIMINGS))
    steps: int = 0

    def add(self, seconds: float, batch: int) -> None:
        self.step_s.append(seconds)
        self.batch.append(batch)
        self.steps += 1


class _Heard(deque[int]):
    """A session's latest fed tokens, and how many it was fed in all."""

    count = 0


# A session's state primed on new weights away from the worker: (its history then,
# how many tokens it had been fed, the state, the logits after them).
Primed = tuple[_Heard, int, Any, torch.Tensor]


@dataclass
class _Weights:
    """A model and how the stepper calls it."""

    model: ContinuationModel
    batches: bool  # sessions stepped together (the GRU), or one by one (a Transformer's KV cache)
    prefill_rows: Any  # token lists of several sessions in one call (the GRU), else None


def _weights(model: ContinuationModel, device: torch.device) -> _Weights:
    batches = model.init_state(1, device).nbytes() <= BATCH_STATE_LIMIT
    return _Weights(model, batches, getattr(model, "prefill_rows", None))


class TokenStepper:
    def __init__(self, model: ContinuationModel, name: str, max_sessions: int = 64) -> None:
        self.model = model
        self.name = name
        self.max_sessions = max_sessions
        # the embedding, since int8-quantized layers have no parameters
        self.device = model.embed.weight.device  # type: ignore[attr-defined]
        self._states: OrderedDict[str, Any] = OrderedDict()  # least recently used first
        self._last_logits: dict[str, torch.Tensor] = {}  # (V,) after each session's last token
        self._history: dict[str, _Heard] = {}  # each session's latest fed tokens
        self.timings = _Timings()
        self._weights = _weights(model, self.device)
        # during a hand-over (`begin`): the old weights, the sessions still on them, and
        # the states primed for them on the new ones
        self._old: _Weights | None = None
        self.staying: set[str] = set()
        self._primed: dict[str, Primed] = {}

    @property
    def batches(self) -> bool:
        return self._weights.batches

    def snapshot(self) -> dict[str, tuple[_Heard, int, list[int]]]:
        """What each session was fed lately (on the worker: between jobs), for priming
        new weights away from it (`prime`)."""
        return {
            session: (heard, heard.count, list(heard)) for session, heard in self._history.items() if heard
        }

    def replace(
        self, model: ContinuationModel, primed: dict[str, Primed] | None = None, name: str | None = None
    ) -> dict[str, list[int]]:
        """Every session hands over to `model` at once (`begin`, then `hand_over` each)."""
        todo = {}
        for session in self.begin(model, primed, name):
            tokens = self.hand_over(session)
            if tokens:
                todo[session] = tokens
        return todo

    def begin(
        self, model: ContinuationModel, primed: dict[str, Primed] | None = None, name: str | None = None
    ) -> list[str]:
        """Play with `model` (called `name`; same device) from now on: new sessions at
        once, the others each when it hands over (`hand_over`, between its jobs), on the
        old weights until then. The step figures begin again under its name, so that they
        describe the model playing. The sessions to hand over."""
        weights = _weights(model, self.device)  # first: a model that fails it leaves everything as it was
        if self.staying:
            raise RuntimeError("new weights while sessions still hand over to the last ones")
        if name is not None:
            self.name, self.timings = name, _Timings()
        for session in [s for s, heard in self._history.items() if not heard and s not in self._states]:
            del self._history[session]
        self._old, self._weights, self.model = self._weights, weights, model
        self.staying = set(self._states) | set(self._history)
        self._primed = dict(primed or {})
        if not self.staying:
            self._old = None
        return sorted(self.staying)

    def hand_over(self, session: str) -> list[int]:
        """`session` leaves the old weights: a state `primed` on the new ones from its
        history takes its place (the tokens fed since are given back, to feed on top);
        else its whole history comes back, START first, for the caller to feed."""
        if session not in self.staying:
            return []
        ready = self._primed.pop(session, None)
        self._leave(session)
        heard = self._history.get(session)
        if heard is None:  # a state and nothing heard: fed START only
            self._states.pop(session, None)
            self._last_logits.pop(session, None)
            return []
        since = heard.count - ready[1] if ready is not None and ready[0] is heard else -1
        if ready is not None and 0 <= since <= len(heard):
            self._states[session], self._last_logits[session] = ready[2], ready[3]
            tokens = [heard.pop() for _ in range(since)][::-1]  # fed again, heard again
        else:
            self._states.pop(session, None)
            self._last_logits.pop(session, None)
            tokens = [codec.START, *heard] if heard else []
            heard.clear()
        heard.count -= len([t for t in tokens if t != codec.START])
        return tokens

    def _leave(self, session: str) -> None:
        self.staying.discard(session)
        if not self.staying:  # every session is on the new weights: the old ones are let go
            self._old, self._primed = None, {}

    def _heard(self, session: str, tokens: int | list[int]) -> None:
        history = self._history.get(session)
        if history is None:
            history = self._history[session] = _Heard(maxlen=HISTORY_TOKENS)
        fed = (
            [t for t in tokens if t != codec.START]
            if isinstance(tokens, list)
            else [tokens]
            if tokens != codec.START
            else []
        )
        history.extend(fed)
        history.count += len(fed)

    def last_logits(self, session: str) -> torch.Tensor | None:
        """(V,) after the session's last fed token, if it has a state."""
        return self._last_logits.get(session)

    def forget(self, session: str) -> None:
        if session in self.staying:  # starts again from nothing, on the new weights
            self._leave(session)
        self._states.pop(session, None)
        self._last_logits.pop(session, None)
        self._history.pop(session, None)

    def stats(self) -> dict[str, Any]:
        t = self.timings
        p50, p99 = percentiles_ms(t.step_s)
        return {
            f"model_{self.name}_steps": t.steps,
            f"model_{self.name}_step_p50_ms": round(p50, 4),
            f"model_{self.name}_step_p99_ms": round(p99, 4),
            f"model_{self.name}_batch_mean": round(sum(t.batch) / len(t.batch), 3) if t.batch else 0.0,
            f"model_{self.name}_sessions": len(self._states),
            f"model_{self.name}_device": str(self.device),
        }

    # -- stepping ------------------------------------------------------------------------
    def step(self, feeds: Sequence[Feed]) -> list[tuple[Feed, torch.Tensor]]:
        """Feed every waiting session (one step each); the feeds whose tokens are all
        in, each with the logits after its last token. A feed fed in part (lockstep)
        keeps the rest of its list for the next call. During a hand-over, the sessions
        still on the old weights are stepped on them."""
        for f in feeds:
            if f.feed is None:  # a session with nothing fed yet begins with START
                f.feed = codec.START
        if self._old is None:
            return self._step(self._weights, feeds)
        staying = [f for f in feeds if f.session in self.staying]
        moved = [f for f in feeds if f.session not in self.staying]
        return (self._step(self._old, staying) if staying else []) + (
            self._step(self._weights, moved) if moved else []
        )

    def _step(self, w: _Weights, feeds: Sequence[Feed]) -> list[tuple[Feed, torch.Tensor]]:
        done: list[tuple[Feed, torch.Tensor]] = []
        if len(feeds) == 1 or not w.batches:
            for f in feeds:
                done += self._prefill(w, f) if isinstance(f.feed, list) else self._step_batch(w, [f])
            return done
        batch = []
        for f in feeds:
            if isinstance(f.feed, list) and len(f.feed) > LOCKSTEP_MAX_TOKENS:
                done += self._prefill(w, f)
            else:
                batch.append(f)
        if batch:
            done += self._step_batch(w, batch)
        return done

    def _state(self, w: _Weights, session: str) -> Any:
        state = self._states.pop(session, None)
        if state is None:
            state = w.model.init_state(1, self.device)
            if len(self._states) >= self.max_sessions:
                evicted, _ = self._states.popitem(last=False)
                self._last_logits.pop(evicted, None)
                self._history.pop(evicted, None)
                if evicted in self.staying:
                    self._leave(evicted)
                log.warning(
                    "model %s: more than %d sessions, forgetting %s", self.name, self.max_sessions, evicted
                )
        self._states[session] = state  # most recently used last
        return state

    def _prefill(self, w: _Weights, f: Feed) -> list[tuple[Feed, torch.Tensor]]:
        """A list of tokens (priming with a phrase) goes in one call, for this session alone."""
        started = time.perf_counter()
        x = torch.tensor([f.feed], dtype=torch.long, device=self.device)  # (1, T)
        logits, state = w.model.prefill(x, self._state(w, f.session))
        self._states[f.session] = state
        self._heard(f.session, f.feed)
        self.timings.add(time.perf_counter() - started, 1)
        self._last_logits[f.session] = logits[0, -1]
        return [(f, logits[0, -1])]  # (V,)

    def _step_batch(self, w: _Weights, feeds: list[Feed]) -> list[tuple[Feed, torch.Tensor]]:
        if w.prefill_rows is not None and len(feeds) > 1 and any(isinstance(f.feed, list) for f in feeds):
            return self._prefill_batch(w, feeds)
        started = time.perf_counter()
        firsts = [f.feed[0] if isinstance(f.feed, list) else f.feed for f in feeds]
        tokens = torch.tensor(firsts, dtype=torch.long, device=self.device)  # (B,)
        if len(feeds) == 1:
            logits, state = w.model.step(tokens, self._state(w, feeds[0].session))
            self._states[feeds[0].session] = state
        else:
            states = stack_states([self._state(w, f.session) for f in feeds])
            logits, states = w.model.step(tokens, states)  # (B, V)
            for i, f in enumerate(feeds):
                self._states[f.session] = states.select(i)
        self.timings.add(time.perf_counter() - started, len(feeds))
        done = []
        for i, f in enumerate(feeds):
            self._last_logits[f.session] = logits[i]
            self._heard(f.session, firsts[i])
            if isinstance(f.feed, list) and len(f.feed) > 1:
                f.feed = f.feed[1:]  # more of its list next step; the job waits
            else:
                done.append((f, logits[i]))
        return done

    def _prefill_batch(self, w: _Weights, feeds: list[Feed]) -> list[tuple[Feed, torch.Tensor]]:
        """Every session's whole list in one call, shorter lists padded at the end."""
        assert w.prefill_rows is not None
        started = time.perf_counter()
        lists = [f.feed if isinstance(f.feed, list) else [f.feed] for f in feeds]
        longest = max(len(tokens) for tokens in lists)
        # (B, T)
        tokens = torch.tensor(
            [t + [codec.PAD] * (longest - len(t)) for t in lists], dtype=torch.long, device=self.device
        )
        lengths = torch.tensor([len(t) for t in lists], device=self.device)  # (B,)
        states = stack_states([self._state(w, f.session) for f in feeds])
        logits, states = w.prefill_rows(tokens, lengths, states)  # (B, V)
        for i, f in enumerate(feeds):
            self._states[f.session] = states.select(i)
        self.timings.add(time.perf_counter() - started, len(feeds))
        for i, f in enumerate(feeds):
            self._last_logits[f.session] = logits[i]
            self._heard(f.session, lists[i])
        return [(f, logits[i]) for i, f in enumerate(feeds)]
