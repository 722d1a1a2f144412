"""The worker as the engine sees it (a core.jobs.ModelPort): jobs in, results back on
the asyncio loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ..core.jobs import Job

if TYPE_CHECKING:  # the worker brings torch, which a server without a model never loads
    from .worker import Worker

log = logging.getLogger(__name__)

# The worker and the loop share the GIL; by default a thread keeps it up to 5 ms, which
# would show up as 5 ms of latency. The server hands it over fifty times as often.
GIL_SWITCH_INTERVAL_S = 0.0001


class WorkerPort:
    def __init__(self, worker: Worker, loop: asyncio.AbstractEventLoop) -> None:
        self.worker = worker
        self.loop = loop

    def submit(
        self,
        session: str,
        job: Job | Callable[[], Any],
        done: Callable[[Any], None] | None = None,
        quick: bool = False,
    ) -> Future[Any]:
        future = self.worker.submit(session, job, quick)
        if future.done():  # run at once, on this (the loop's) thread
            if done is not None and not future.cancelled() and future.exception() is None:
                self.loop.call_soon(done, future.result())
            return future
        future.add_done_callback(lambda f: self._settled(f, done))
        return future

    def _settled(self, future: Future[Any], done: Callable[[Any], None] | None) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            return  # the worker logged it; the behaviour's own timeout covers the silence
        if done is not None:
            self._post(done, future.result())

    def replier(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        return lambda value: self._post(callback, value)

    def _post(self, fn: Callable[[Any], None], value: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, value)
        except RuntimeError:
            log.debug("loop closed; a model result was dropped")  # shutting down
