"""The ModelRunner: model steps on one dedicated worker thread, states kept resident.

The asyncio loop never waits on torch. Work arrives as *jobs*: generators that yield a
token to feed (or a list of tokens, fed at once with `prefill`), receive the logits of
the next token, and finally return a result. Each session (a player, a subscriber) has
its own state on the model's device and runs its jobs in order; the heads of different
sessions' queues are stepped together in one batched call. Every step is timed.

    def harmonize(...):            # a job
        logits = yield note_token  # feed the played note
        return sample(logits)

A job may also yield `PEEK` to get the logits after the session's last fed token without
feeding anything (a new session is fed START first): how a generation starts; and
`RESET` to forget the session's state at that point of its queue (it is sent None).

    future = runner.submit("osc:127.0.0.1", harmonize(...))   # concurrent.futures.Future
    result = await asyncio.wrap_future(future)                # in the loop, never blocking
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Generator

import numpy as np
import torch

from ..models import codec
from ..models.base import ContinuationModel, stack_states

log = logging.getLogger(__name__)

Job = Generator["int | list[int] | None", torch.Tensor, Any]  # yields tokens, is sent logits (V,)
PEEK = None  # yielded by a job: "the logits after what was fed last", no step
RESET = -1  # yielded by a job: "start this session's state afresh here"
# The worker and the loop share the GIL; by default a thread keeps it up to 5 ms, which
# would show up as 5 ms of latency. The server hands it over fifty times as often.
GIL_SWITCH_INTERVAL_S = 0.0001
_TIMINGS = 4096  # recent step durations kept for percentiles
LOCKSTEP_MAX_TOKENS = 8  # longer lists prefill alone even when other sessions wait
# Batching copies the states in and out at every step: worth it for a GRU's hidden
# state (KBs), not for a Transformer's KV cache (MBs), whose sessions step one by one.
BATCH_STATE_LIMIT = 256 * 1024


@dataclass
class _Running:
    session: str
    job: Job
    future: Future[Any]
    feed: int | list[int] | None = None  # what the job asks to feed next (None: PEEK)
    started: bool = False


@dataclass
class _Timings:
    step_s: deque[float] = field(default_factory=lambda: deque(maxlen=_TIMINGS))
    batch: deque[int] = field(default_factory=lambda: deque(maxlen=_TIMINGS))
    steps: int = 0

    def add(self, seconds: float, batch: int) -> None:
        self.step_s.append(seconds)
        self.batch.append(batch)
        self.steps += 1


class ModelRunner:
    """One model, one worker thread, many sessions. `start()`, `submit()`, `close()`."""

    def __init__(self, model: ContinuationModel, name: str, max_sessions: int = 64, threads: int = 1) -> None:
        self.model = model
        self.name = name
        self.max_sessions = max_sessions
        self.threads = threads
        # the embedding, since int8-quantized layers have no parameters
        self.device = model.embed.weight.device  # type: ignore[attr-defined]
        self._inbox: queue.SimpleQueue[_Running | None] = queue.SimpleQueue()
        self._queues: dict[str, deque[_Running]] = {}
        self._states: OrderedDict[str, Any] = OrderedDict()  # least recently used first
        self._last_logits: dict[str, torch.Tensor] = {}  # (V,) after each session's last token
        self._timings = _Timings()
        self._thread: threading.Thread | None = None
        self.batches = model.init_state(1, self.device).nbytes() <= BATCH_STATE_LIMIT
        # token lists of several sessions in one call (the GRU), else in lockstep a token at a time
        self._prefill_rows = getattr(model, "prefill_rows", None)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, warmup_steps: int = 20) -> None:
        """Start the worker and warm the model up (first calls are slow: allocation, JIT paths)."""
        self._thread = threading.Thread(target=self._work, name=f"model-{self.name}", daemon=True)
        self._thread.start()
        futures = [self.submit("warmup", _warmup(warmup_steps)) for _ in range(2)]
        for f in futures:
            f.result(timeout=60)
        self.reset("warmup").result(timeout=10)
        self._timings = _Timings()

    def close(self) -> None:
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    # -- API (any thread) ----------------------------------------------------------------
    def submit(self, session: str, job: Job) -> Future[Any]:
        """Queue `job` for `session`; the future holds its result (cancel it to drop the job)."""
        future: Future[Any] = Future()
        self._inbox.put(_Running(session, job, future))
        return future

    def reset(self, session: str) -> Future[Any]:
        """Forget the session's state once the jobs queued before have run (panic, re-prime)."""
        return self.submit(session, _reset())

    def stats(self) -> dict[str, Any]:
        t = self._timings
        times = np.array(t.step_s) * 1000.0
        p50, p99 = (float(x) for x in np.percentile(times, [50, 99])) if times.size else (0.0, 0.0)
        return {
            f"model_{self.name}_steps": t.steps,
            f"model_{self.name}_step_p50_ms": round(p50, 4),
            f"model_{self.name}_step_p99_ms": round(p99, 4),
            f"model_{self.name}_batch_mean": round(float(np.mean(t.batch)), 3) if t.batch else 0.0,
            f"model_{self.name}_sessions": len(self._states),
            f"model_{self.name}_device": str(self.device),
        }

    # -- worker thread ---------------------------------------------------------------------
    def _work(self) -> None:
        torch.set_num_threads(self.threads)
        with torch.inference_mode():
            while True:
                if not self._take(block=not self._queues):
                    break
                heads = self._heads()
                try:
                    self._step_heads(heads)
                except Exception as exc:  # a bad step must not silence the model for the rest of the show
                    log.exception("model %s: a step failed; the jobs waiting on it fail", self.name)
                    for head in heads:
                        self._fail(head, exc)

    def _take(self, block: bool) -> bool:
        """Move new jobs from the inbox; False when closing."""
        while True:
            try:
                item = self._inbox.get(block=block)
            except queue.Empty:
                return True
            block = False
            if item is None:
                self._cancel_all()
                return False
            self._queues.setdefault(item.session, deque()).append(item)

    def _heads(self) -> list[_Running]:
        """The first live job of every session, each with what it wants to feed."""
        heads = []
        for session in list(self._queues):
            jobs = self._queues[session]
            while jobs:
                head = jobs[0]
                if not head.started and not self._advance(head, None):
                    jobs.popleft()
                    continue
                if head.feed == RESET:
                    self._forget(session)
                    if not self._advance(head, None):
                        jobs.popleft()
                    continue
                if head.feed is PEEK and session in self._last_logits:
                    if not self._advance(head, self._last_logits[session]):
                        jobs.popleft()
                    continue  # no step needed: look at this session's queue again
                heads.append(head)
                break
            if not jobs:
                del self._queues[session]
        return heads

    def _advance(self, running: _Running, logits: torch.Tensor | None) -> bool:
        """Run the job to its next yield; False when it finished (future resolved)."""
        if running.future.cancelled():
            running.job.close()
            return False
        try:
            running.feed = running.job.send(logits) if running.started else next(running.job)  # type: ignore[arg-type]
            running.started = True
            if running.feed == []:
                raise ValueError("a job yielded an empty list of tokens")
        except StopIteration as done:
            _settle(running.future, done.value)
            return False
        except Exception as exc:  # a failing job must not stop the worker
            log.exception("model job failed (session %s)", running.session)
            _settle(running.future, exc=exc)
            return False
        return True

    def _fail(self, head: _Running, exc: Exception) -> None:
        """Drop a job whose step failed (its session's state is forgotten: it may be half written)."""
        head.job.close()
        _settle(head.future, exc=exc)
        self._forget(head.session)
        jobs = self._queues.get(head.session)
        if jobs and jobs[0] is head:
            jobs.popleft()
            if not jobs:
                del self._queues[head.session]

    def _step_heads(self, heads: list[_Running]) -> None:
        """One session alone takes a list of tokens in one prefill. When several sessions
        wait, their short lists are fed together (padded in one call where the model can,
        else in lockstep a token at a time), so every step serves all of them; a long
        list, a phrase to prime, still prefills alone."""
        for head in heads:
            if head.feed is PEEK:  # a session with nothing fed yet begins with START
                head.feed = codec.START
        if len(heads) == 1 or not self.batches:
            for head in heads:
                if isinstance(head.feed, list):
                    self._prefill(head)
                else:
                    self._step_batch([head])
            return
        batch = []
        for head in heads:
            if isinstance(head.feed, list) and len(head.feed) > LOCKSTEP_MAX_TOKENS:
                self._prefill(head)
            else:
                batch.append(head)
        if batch:
            self._step_batch(batch)

    def _forget(self, session: str) -> None:
        self._states.pop(session, None)
        self._last_logits.pop(session, None)

    def _state(self, session: str) -> Any:
        state = self._states.pop(session, None)
        if state is None:
            state = self.model.init_state(1, self.device)
            if len(self._states) >= self.max_sessions:
                evicted, _ = self._states.popitem(last=False)
                self._last_logits.pop(evicted, None)
                log.warning("model %s: more than %d sessions, forgetting %s", self.name, self.max_sessions, evicted)
        self._states[session] = state  # most recently used last
        return state

    def _prefill(self, head: _Running) -> None:
        """A list of tokens (priming with a phrase) goes in one call, for this session alone."""
        started = time.perf_counter()
        x = torch.tensor([head.feed], dtype=torch.long, device=self.device)  # (1, T)
        logits, state = self.model.prefill(x, self._state(head.session))
        self._states[head.session] = state
        self._timings.add(time.perf_counter() - started, 1)
        self._last_logits[head.session] = logits[0, -1]
        self._finish_step(head, logits[0, -1])  # (V,)

    def _step_batch(self, heads: list[_Running]) -> None:
        if self._prefill_rows is not None and len(heads) > 1 and any(isinstance(h.feed, list) for h in heads):
            self._prefill_batch(heads)
            return
        started = time.perf_counter()
        firsts = [h.feed[0] if isinstance(h.feed, list) else h.feed for h in heads]
        tokens = torch.tensor(firsts, dtype=torch.long, device=self.device)  # (B,)
        if len(heads) == 1:
            logits, state = self.model.step(tokens, self._state(heads[0].session))
            self._states[heads[0].session] = state
        else:
            states = stack_states([self._state(h.session) for h in heads])
            logits, states = self.model.step(tokens, states)  # (B, V)
            for i, h in enumerate(heads):
                self._states[h.session] = states.select(i)
        self._timings.add(time.perf_counter() - started, len(heads))
        for i, head in enumerate(heads):
            self._last_logits[head.session] = logits[i]
            if isinstance(head.feed, list) and len(head.feed) > 1:
                head.feed = head.feed[1:]  # more of its list next step; the job waits
            else:
                self._finish_step(head, logits[i])

    def _prefill_batch(self, heads: list[_Running]) -> None:
        """Every session's whole list in one call, shorter lists padded at the end."""
        assert self._prefill_rows is not None
        started = time.perf_counter()
        lists = [h.feed if isinstance(h.feed, list) else [h.feed] for h in heads]
        longest = max(len(tokens) for tokens in lists)
        tokens = torch.tensor([t + [codec.PAD] * (longest - len(t)) for t in lists], dtype=torch.long,
                              device=self.device)  # (B, T)
        lengths = torch.tensor([len(t) for t in lists], device=self.device)  # (B,)
        states = stack_states([self._state(h.session) for h in heads])
        logits, states = self._prefill_rows(tokens, lengths, states)  # (B, V)
        for i, h in enumerate(heads):
            self._states[h.session] = states.select(i)
        self._timings.add(time.perf_counter() - started, len(heads))
        for i, head in enumerate(heads):
            self._last_logits[head.session] = logits[i]
            self._finish_step(head, logits[i])

    def _finish_step(self, head: _Running, logits: torch.Tensor) -> None:
        if not self._advance(head, logits):
            jobs = self._queues.get(head.session)
            if jobs and jobs[0] is head:
                jobs.popleft()

    def _cancel_all(self) -> None:
        for jobs in self._queues.values():
            for running in jobs:
                running.job.close()
                running.future.cancel()
        self._queues.clear()


def _settle(future: Future[Any], value: Any = None, exc: Exception | None = None) -> None:
    """Resolve a job's future, unless the loop cancelled it meanwhile (a race: the job
    finished as the loop gave up on it; its result is simply not wanted)."""
    try:
        if exc is None:
            future.set_result(value)
        else:
            future.set_exception(exc)
    except InvalidStateError:
        pass


def _reset() -> Job:
    yield RESET
    return None


def _warmup(steps: int) -> Job:
    for i in range(steps):
        yield i % 256  # note-on and note-off tokens
    yield list(range(steps))
    return None
