"""What a behaviour may use: time, output, timers, its session's model and keys, shared
state.

Behaviours never see the engine itself; a Context is their whole world, which keeps
them small and lets unit tests drive them with a fake clock and a fake model port.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from ..config import Config
from ..events import Event
from .clock import Clock
from .jobs import Job, JobHandle, ModelPort
from .keys import Keys
from .output import Output, Timer


class Context:
    def __init__(
        self,
        session: str,
        config: Config,
        output: Output,
        state: dict[str, Any],
        clock: Clock,
        models: ModelPort | None,
        miss: Callable[[str, str, str], None],
    ) -> None:
        self.session = session
        self.config = config
        self.state = state  # the public state (mode, key, temperature...), shared by every session
        self.clock = clock
        self.models = models
        self.keys = Keys()  # the session's keys: the session keeps them, the others read them
        self._output = output
        self._miss = miss

    def now(self) -> float:
        return self._output.now()

    def lookahead_s(self) -> float:
        """How far ahead a part begins: `clock.lookahead_ms`, and the largest output
        latency, so its first notes reach every output in time too."""
        return self.config.clock.lookahead_ms / 1000.0 + self._output.lead

    def send(self, event: Event, owner: Hashable | None = None) -> None:
        """Out now (an immediate answer); a note is held by `owner` (default: the note)."""
        self._output.send(event, owner)

    def schedule(self, event: Event, owner: Hashable) -> None:
        """Out at `event.t`; `owner` holds the notes and can take back what it
        scheduled with `unschedule`."""
        self._output.schedule(event, owner)

    def unschedule(self, owner: object) -> list[Any]:
        """Take back what `owner` has queued; returns those events."""
        return self._output.unschedule(owner)

    def call_at(self, at: float, fn: Callable[[], None]) -> Timer:
        return self._output.call_at(at, fn)

    def submit(
        self, job: Job | Callable[[], Any], done: Callable[[Any], None] | None = None, quick: bool = False
    ) -> JobHandle | None:
        """Run a model job, or a plain call, in this session's order on the model worker
        (None when no model is loaded); `quick`: see ModelPort.submit."""
        return None if self.models is None else self.models.submit(self.session, job, done, quick)

    def replier(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """`fn` as a model job's early answer: the job calls it on the worker, `fn` runs on
        the loop. Only a mode that plays from a model asks, and it runs only with one."""
        assert self.models is not None, "a model mode runs only with a model loaded"
        return self.models.replier(fn)

    def miss(self, behaviour: str, what: str) -> None:
        """A model answer did not fit its budget; the fallback played instead."""
        self._miss(behaviour, self.session, what)
