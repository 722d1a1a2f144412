"""What a behaviour may use: time, output, timers, its session's model, shared state.

Behaviours never see the engine itself; a Context is their whole world, which keeps
them small and lets unit tests drive them with a fake clock and a fake model port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

from ..config import Config
from ..events import Event

if TYPE_CHECKING:
    from ..runtime.runner import Job
    from .clock import Clock
    from .engine import Engine


class JobHandle(Protocol):
    def cancel(self) -> bool: ...
    def done(self) -> bool: ...


class ModelPort(Protocol):
    """The model runtime as the core sees it; results come back on the loop thread."""

    def submit(self, session: str, job: Job, done: Callable[[Any], None] | None = None) -> JobHandle: ...
    def replier(self, callback: Callable[[Any], None]) -> Callable[[Any], None]:
        """A function a job may call from the worker thread to answer early."""
        ...


class Timer:
    """A callback at a time on the engine's scheduler (no sleeping anywhere)."""

    __slots__ = ("fn", "cancelled")

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Context:
    def __init__(self, engine: Engine, session: str) -> None:
        self._engine = engine
        self.session = session

    @property
    def config(self) -> Config:
        return self._engine.config

    @property
    def state(self) -> dict[str, Any]:
        return self._engine.state

    @property
    def clock(self) -> Clock:
        return self._engine.clock

    @property
    def models(self) -> ModelPort | None:
        return self._engine.models

    def now(self) -> float:
        return self._engine.now()

    def send(self, event: Event) -> None:
        """Out now (an immediate answer)."""
        self._engine.send(event)

    def schedule(self, event: Event, owner: object) -> None:
        """Out at `event.t`; `owner` can take back what it scheduled with `unschedule`."""
        self._engine.schedule(event, owner)

    def unschedule(self, owner: object) -> int:
        return self._engine.unschedule(owner)

    def call_at(self, at: float, fn: Callable[[], None]) -> Timer:
        return self._engine.call_at(at, fn)

    def submit(self, job: Job, done: Callable[[Any], None] | None = None) -> JobHandle | None:
        """Run a model job in this session's state (None when no model is loaded)."""
        models = self._engine.models
        return None if models is None else models.submit(self.session, job, done)

    def miss(self, behaviour: str, what: str) -> None:
        """A model answer did not fit its budget; the fallback played instead."""
        self._engine.miss(behaviour, self.session, what)
