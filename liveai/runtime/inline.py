"""Model jobs run inline: for offline evaluation on a fake clock and for unit tests.

`InlinePort` is a ModelPort (liveai.core.jobs) that runs every job at once on the
caller's thread, on a real model; the answers wait until `flush()` delivers them, as
the event loop would deliver the worker's later. Deterministic, and no thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from ..core.jobs import PEEK, RESET, Job
from ..models import codec

_END = object()


class _Handle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> bool:
        self.cancelled = True
        return True

    def done(self) -> bool:
        return True


class InlinePort:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.states: dict[str, Any] = {}
        self.last: dict[str, torch.Tensor] = {}
        self.pending: list[tuple[Callable[[Any], None], Any]] = []
        self.jobs = 0

    def submit(
        self,
        session: str,
        job: Job | Callable[[], Any],
        done: Callable[[Any], None] | None = None,
        quick: bool = False,
    ) -> _Handle:
        handle = _Handle()
        self.jobs += 1
        if not inspect.isgenerator(job):
            result = job()  # a plain call, as the worker runs it  # type: ignore[operator]
            if done is not None:
                self.pending.append((lambda v: None if handle.cancelled else done(v), result))
            return handle
        feed = next(job, _END)
        result = None
        with torch.inference_mode():
            while feed is not _END:
                reply: torch.Tensor | None
                if feed == RESET:
                    self.states.pop(session, None)
                    self.last.pop(session, None)
                    reply = None
                elif feed is PEEK and session in self.last:
                    reply = self.last[session]
                else:
                    tokens = [codec.START] if feed is PEEK else feed if isinstance(feed, list) else [feed]
                    state = self.states.get(session) or self.model.init_state(1)
                    logits, state = self.model.prefill(torch.tensor([tokens]), state)
                    self.states[session] = state
                    reply = self.last[session] = logits[0, -1]
                try:
                    feed = job.send(reply)
                except StopIteration as stop:
                    result = stop.value
                    feed = _END
        if done is not None:
            self.pending.append((lambda v: None if handle.cancelled else done(v), result))
        return handle

    def replier(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        return lambda value: self.pending.append((callback, value))

    def flush(self) -> int:
        """Deliver every waiting answer (answers may submit more jobs); how many were delivered."""
        delivered = 0
        while self.pending:
            callback, value = self.pending.pop(0)
            callback(value)
            delivered += 1
        return delivered
