"""The job protocol between the core and a model runtime, without torch.

A job is a generator run on the runtime's worker thread. It yields what to feed the
model next (a token, a list of tokens fed at once, `PEEK` or `RESET`), is sent what
that produced (the logits of the next token), and finally returns its result. Its
session's state lives on the worker; the core only ever holds a JobHandle.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Protocol

Job = Generator[Any, Any, Any]  # yields tokens, PEEK or RESET; is sent logits (V,); returns a result
PEEK = None  # yielded by a job: "the logits after what was fed last", no step
RESET = -1  # yielded by a job: "start this session's state afresh here"


class JobHandle(Protocol):
    def cancel(self) -> bool: ...
    def done(self) -> bool: ...


class ModelPort(Protocol):
    """The model runtime as the core sees it; results come back on the loop thread."""

    def submit(
        self,
        session: str,
        job: Job | Callable[[], Any],
        done: Callable[[Any], None] | None = None,
        quick: bool = False,
    ) -> JobHandle:
        """Run a token job, or a plain call (e.g. the morph VAE's), in the session's order;
        `quick`: a call of about a millisecond or less, which may run at once on this thread."""
        ...

    def replier(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """A function a job may call from the worker thread to answer early."""
        ...
