"""The worker: one dedicated thread where model work runs, in order per session.

The asyncio loop never waits on torch. Work arrives as jobs, each for a session:

- a *token job* (the protocol of liveai.core.jobs): a generator that yields a token to
  feed (or a list, fed at once), receives the logits of the next token, and finally
  returns a result. `PEEK` asks for the logits after the session's last fed token
  without feeding anything; `RESET` forgets the session's state at that point of its
  queue. The heads of different sessions' queues are stepped together by the
  TokenStepper;
- a *call*: any function, run on this thread in its session's order (for work that
  is not token by token).

`swap(model)` hands the thread new weights, session by session: a session takes them
once its own jobs submitted before have finished (its later jobs wait behind them, as
always), so no job sees two models and one session's long job holds back no other
session; each session's recent tokens then prime the new model before its next job.

    def harmonize(...):            # a token job
        logits = yield note_token  # feed the played note
        return sample(logits)

    future = worker.submit("osc:127.0.0.1", harmonize(...))   # concurrent.futures.Future
    result = await asyncio.wrap_future(future)                # in the loop, never blocking

A quick call (a small model's step) runs at once on the caller's thread instead while
the worker is idle (`run_now`): the hand-off there and back costs more than the step.
Nothing waits before it, so the order holds; the thread running jobs holds `_owner`.
"""

from __future__ import annotations

import inspect
import logging
import queue
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any, cast

import torch

from ..core.jobs import PEEK, RESET, Job
from ..core.stats import LogThrottle
from ..models.base import ContinuationModel
from .stepper import Primed, TokenStepper

log = logging.getLogger(__name__)

INBOX_LIMIT = 4096  # jobs waiting to be taken by the thread; beyond, a job is refused at once
QUICK_LIMIT_S = 0.002  # CPU time (median of QUICK_RECENT) past which quick calls would hold the loop up
QUICK_RECENT = 15


class WorkerBusy(RuntimeError):
    """The worker's inbox is full, or new weights came while the last ones are handed over."""


@dataclass
class _Running:
    session: str
    job: Job | Callable[[], Any]
    future: Future[Any]
    feed: int | list[int] | None = None  # what a token job asks to feed next (None: PEEK)
    started: bool = False
    quick: bool = False  # a quick call (`submit(quick=True)`): its time is kept


@dataclass
class _Swap:
    model: ContinuationModel
    primed: dict[str, Primed] | None
    future: Future[list[str]]
    name: str | None = None


class Worker:
    """One thread, one stepper, many sessions. `start()`, `submit()`, `close()`."""

    def __init__(self, stepper: TokenStepper, threads: int = 1) -> None:
        self.stepper = stepper
        self.name = stepper.name
        self.threads = threads
        self._inbox: queue.SimpleQueue[_Running | _Swap | None] = queue.SimpleQueue()
        self._handing: _Swap | None = None  # new weights the sessions are handing over to
        self._refed: list[str] = []  # sessions handed over that had tokens to be fed again
        self._queues: dict[str, deque[_Running]] = {}
        self._thread: threading.Thread | None = None
        # a live model like the stepper's, built at startup and not playing, for the next
        # switch to load new weights into (liveai.runtime.reload.Built; None: build in full)
        self.spare: Any = None
        self.refused = 0  # jobs refused because the inbox was full
        self._log_refused = LogThrottle(log, "more refused", level=logging.WARNING)
        self._owner = threading.Lock()  # held by the thread running jobs (the worker's, or `run_now`'s)
        self._put = threading.Lock()
        self._unseen = 0  # put in the inbox, not yet taken (under `_put`)
        self._quick_s: deque[float] = deque(maxlen=QUICK_RECENT)  # the CPU time of the last quick calls
        self.ran_now = 0  # quick calls run on the caller's thread

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, warmup_steps: int = 20) -> None:
        """Start the thread and warm the model up (first calls are slow: allocation, JIT paths)."""
        self._thread = threading.Thread(target=self._work, name=f"model-{self.name}", daemon=True)
        self._thread.start()
        futures = [self.submit("warmup", _warmup(warmup_steps)) for _ in range(2)]
        for f in futures:
            f.result(timeout=60)
        self.reset("warmup").result(timeout=10)
        self.stepper.timings = type(self.stepper.timings)()

    def close(self) -> None:
        if self._thread is not None:
            self._send(None)
            self._thread.join(timeout=5)
            self._thread = None

    # -- API (any thread) ----------------------------------------------------------------
    def submit(self, session: str, job: Job | Callable[[], Any], quick: bool = False) -> Future[Any]:
        """Queue a token job or a call for `session`; the future holds its result (cancel
        it to drop the job). `quick`: a call of about a millisecond or less, run here if it may."""
        if quick and (now := self.run_now(session, job)) is not None:
            return now
        future: Future[Any] = Future()
        if self._inbox.qsize() >= INBOX_LIMIT:  # the thread is stuck or far behind: do not pile up
            self.refused += 1
            self._log_refused(
                time.monotonic(), "model %s: %d jobs wait already; a job is refused", self.name, INBOX_LIMIT
            )
            if inspect.isgenerator(job):
                job.close()
            future.set_exception(WorkerBusy(f"model {self.name}: more than {INBOX_LIMIT} jobs waiting"))
            return future
        self._send(_Running(session, job, future, quick=quick))
        return future

    def run_now(self, session: str, call: Job | Callable[[], Any]) -> Future[Any] | None:
        """Run a call here, its future settled, if the worker is idle (no job waits, no new
        weights are handed over), on the CPU (a GPU's is waited for on the worker) and the
        last quick calls were quick; else None (`submit` it)."""
        if inspect.isgenerator(call) or self.stepper.device.type != "cpu":
            return None
        if not self._owner.acquire(blocking=False):
            return None
        try:
            with self._put:
                idle = self._unseen == 0 and not self._queues and self._handing is None
            slow = len(self._quick_s) == QUICK_RECENT and statistics.median(self._quick_s) > QUICK_LIMIT_S
            if not idle or slow:
                return None
            running = _Running(session, call, Future(), quick=True)
            torch.set_num_threads(self.threads)  # per calling thread: the loop's own is the machine's cores
            with torch.inference_mode():
                self._call(running)
            self.ran_now += 1
            return running.future
        finally:
            self._owner.release()

    def reset(self, session: str) -> Future[Any]:
        """Forget the session's state once the jobs queued before have run (panic, re-prime)."""
        return self.submit(session, _reset())

    def swap(
        self, model: ContinuationModel, primed: dict[str, Primed] | None = None, name: str | None = None
    ) -> Future[list[str]]:
        """Play with `model` (built and warmed up, on the same device): each session
        takes it once its jobs submitted before have finished, with its state `primed`
        on it away from this thread (`TokenStepper.snapshot`); the future, once every
        session has taken it (the old model is then let go), holds the sessions that
        still had tokens to be fed. `name`: the model's, for the `model_<name>_*` figures.
        One swap at a time: while the last one is handed over, the future fails with
        WorkerBusy at once (waiting would hold every session's new jobs behind the slowest
        session's job)."""
        future: Future[list[str]] = Future()
        self._send(_Swap(model, primed, future, name))
        return future

    def _send(self, item: _Running | _Swap | None) -> None:
        with self._put:
            self._unseen += 1
            self._inbox.put(item)

    def stats(self) -> dict[str, Any]:
        own = {f"model_{self.name}_refused": self.refused, f"model_{self.name}_ran_now": self.ran_now}
        return {**self.stepper.stats(), **own}

    # -- the thread ------------------------------------------------------------------------
    def _work(self) -> None:
        torch.set_num_threads(self.threads)
        with torch.inference_mode(), self._owner:
            while True:
                if self._handing is not None and not self.stepper.staying:
                    self._handed()
                if not self._queues:  # idle: a quick call may run on its caller's thread meanwhile
                    self._owner.release()
                    item = self._inbox.get()
                    self._owner.acquire()
                    if not self._took(item):
                        break
                if not self._take():
                    break
                heads = self._heads()
                try:
                    for head, logits in self.stepper.step(heads):
                        self._finish_step(head, logits)  # type: ignore[arg-type]
                except Exception as exc:  # a bad step must not silence the model for the rest of the show
                    log.exception("model %s: a step failed; the jobs waiting on it fail", self.name)
                    for head in heads:
                        self._fail(head, exc)

    def _take(self) -> bool:
        """Move new jobs from the inbox; False when closing."""
        while not self._inbox.empty():  # only this thread takes: the get never waits
            if not self._took(self._inbox.get()):
                return False
        return True

    def _took(self, item: _Running | _Swap | None) -> bool:
        """A job into its session's queue, or new weights begun; False when closing."""
        with self._put:
            self._unseen -= 1
        if item is None:
            self._cancel_all()
            return False
        if isinstance(item, _Swap):
            if self._handing is not None:  # refused: the sessions' jobs must not wait for its turn
                _settle(item.future, exc=WorkerBusy(f"model {self.name}: new weights are being handed over"))
            else:
                self._begin(item)
            return True
        self._queues.setdefault(item.session, deque()).append(item)
        return True

    def _begin(self, swap: _Swap) -> None:
        """The new weights: a session with jobs waiting takes them after those jobs
        (a mark at the end of its queue), any other at once."""
        try:
            sessions = self.stepper.begin(swap.model, swap.primed, swap.name)
        except Exception as exc:  # the old model plays on
            log.exception("model %s: new weights refused", self.name)
            _settle(swap.future, exc=exc)
            return
        self.name = self.stepper.name
        self._handing, self._refed = swap, []
        for session in sessions:
            jobs = self._queues.get(session)
            if jobs:
                jobs.append(_Running(session, HAND_OVER, Future()))
            else:
                self._hand_over(session)
        if not self.stepper.staying:
            self._handed()

    def _hand_over(self, session: str) -> None:
        """`session` takes the new weights; its recent tokens go first in its queue."""
        tokens = self.stepper.hand_over(session)
        if tokens:
            self._queues.setdefault(session, deque()).appendleft(_Running(session, _prime(tokens), Future()))
            self._refed.append(session)

    def _handed(self) -> None:
        """Every session is on the new weights."""
        assert self._handing is not None
        _settle(self._handing.future, sorted(self._refed))
        self._handing, self._refed = None, []

    def _heads(self) -> list[_Running]:
        """The first live job of every session that needs a model step, each with what
        it wants to feed; calls, resets and peeks with known logits run on the way."""
        heads = []
        for session in list(self._queues):
            jobs = self._queues[session]
            while jobs:
                head = jobs[0]
                if not inspect.isgenerator(head.job):
                    jobs.popleft()
                    if head.job is HAND_OVER:
                        self._hand_over(session)  # (may put its prime first in `jobs`)
                    else:
                        self._call(head)
                    continue
                if not head.started and not self._advance(head, None):
                    jobs.popleft()
                    continue
                if head.feed == RESET:
                    self.stepper.forget(session)
                    if not self._advance(head, None):
                        jobs.popleft()
                    continue
                known = self.stepper.last_logits(session) if head.feed is PEEK else None
                if known is not None:
                    if not self._advance(head, known):
                        jobs.popleft()
                    continue  # no step needed: look at this session's queue again
                heads.append(head)
                break
            if not jobs:
                del self._queues[session]
        return heads

    def _call(self, running: _Running) -> None:
        if running.future.cancelled():
            return
        started = time.thread_time()  # CPU time: a busy machine's waits are not the call's
        try:
            _settle(running.future, running.job())  # type: ignore[operator]
        except Exception as exc:  # a failing call must not stop the worker
            log.exception("model call failed (session %s)", running.session)
            _settle(running.future, exc=exc)
        if running.quick:
            self._quick_s.append(time.thread_time() - started)

    def _advance(self, running: _Running, logits: torch.Tensor | None) -> bool:
        """Run the job to its next yield; False when it finished (future resolved)."""
        job = cast(Job, running.job)
        if running.future.cancelled():
            job.close()
            return False
        try:
            running.feed = job.send(logits) if running.started else next(job)
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

    def _finish_step(self, head: _Running, logits: torch.Tensor) -> None:
        if not self._advance(head, logits):
            jobs = self._queues.get(head.session)
            if jobs and jobs[0] is head:
                jobs.popleft()

    def _fail(self, head: _Running, exc: Exception) -> None:
        """Drop a job whose step failed (its session's state is forgotten: it may be half written)."""
        if inspect.isgenerator(head.job):
            head.job.close()
        _settle(head.future, exc=exc)
        self.stepper.forget(head.session)
        jobs = self._queues.get(head.session)
        if jobs and jobs[0] is head:
            jobs.popleft()
            if not jobs:
                del self._queues[head.session]

    def _cancel_all(self) -> None:
        if self._handing is not None:
            self._handing.future.cancel()
        self._handing = None
        for jobs in self._queues.values():
            for running in jobs:
                if inspect.isgenerator(running.job):
                    running.job.close()
                running.future.cancel()
        self._queues.clear()


def HAND_OVER() -> None:
    """The mark, in a session's queue, where it takes new weights (never called)."""


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


def _prime(tokens: list[int]) -> Job:
    yield tokens
    return None


def _warmup(steps: int) -> Job:
    for i in range(steps):
        yield i % 256  # note-on and note-off tokens
    yield list(range(steps))
    return None
