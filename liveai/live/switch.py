"""Switching the live continuation model between events.

Two live models are built at startup (`loading.spare_of`): one plays, the other waits.
A switch reads the checkpoint's weights off the loop, in a thread of its own at a lower
priority (BUILD_NICE: Linux nices threads one by one), and copies them into the one
that waits (`runtime.reload`): nothing is quantized whole, compiled or warmed up again,
which cost the music a deadline miss per switch. A checkpoint of another architecture
or size is built in full, and the log says so. The worker then takes the new weights
session by session, between that session's jobs (`Worker.swap`): answers go on with the
old weights until then, and each session's state is primed again from what it was fed
lately. The model let go waits for the next switch. No note is ended: the sessions,
their notes and their samplers stay. A file that will not load is refused with one line
and the old model plays on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..config import Config
from ..core.commands import Request
from ..core.engine import Engine
from ..errors import CommandError, ConfigError
from ..models.checkpoint import CheckpointError, read_weights
from ..runtime.loading import live_model, prime_states, warm_up
from ..runtime.reload import Built, load_into
from ..runtime.worker import Worker
from .settings import find_model

log = logging.getLogger(__name__)
UNDO_DEPTH = 8  # earlier models /liveai/learn/undo can go back to
BREATHE_S = 0.005
# The builder thread's niceness: it leaves the cores to the loop (measured: docs/figures.md, "Learning live").
BUILD_NICE = 10
# TorchScript optimises on its first run of each shape: 3 are enough, and cost half of 20
SWITCH_WARMUP_STEPS = 3
SNAPSHOT = "\x00model-switch"  # the worker's queue for the snapshot: no player's session


class ModelSwitch:
    def __init__(self, config: Config, engine: Engine, worker: Worker) -> None:
        self.config = config
        self.engine = engine
        self.worker = worker
        self.current = worker.name
        self.earlier: deque[str] = deque(maxlen=UNDO_DEPTH)
        self._loading: asyncio.Task[None] | None = None
        self.loading: str | None = None  # the model being switched to (not to be pruned meanwhile)
        self._builder = ThreadPoolExecutor(1, thread_name_prefix="model-build", initializer=_lower_priority)
        # the model playing and the one waiting for the next switch's weights (None: unknown,
        # every switch builds in full); the worker's spare is built like the one playing
        spare: Built | None = worker.spare
        self._playing = None if spare is None else Built(worker.stepper.model, dict(spare.config))
        self._spare = spare
        self.last_swap_ms: float | None = None  # from the weights' hand-over to the last session taking them
        self.switches = 0
        self.closed = False
        engine.state["model"] = self.current  # at startup, before anyone listens

    @property
    def busy(self) -> bool:
        return self._loading is not None and not self._loading.done()

    def switch(
        self,
        name: str,
        request: Request | None = None,
        *,
        undo: bool = False,
        done: Callable[[bool], None] | None = None,
    ) -> None:
        """Load `name` and play it from the next event on; `done(True)` once it plays,
        `done(False)` if it would not load (refused on `request`, if any)."""
        if self.busy:
            raise CommandError("busy", "a model is loading already; ask again when /liveai/out/model says so")
        path = find_model(name, self.config)
        self.loading = name
        self._loading = asyncio.create_task(
            self._guarded(name, path, request, undo, done), name="model-switch"
        )
        self._loading.add_done_callback(self._ended)

    async def _guarded(
        self, name: str, path: Path, request: Request | None, undo: bool, done: Callable[[bool], None] | None
    ) -> None:
        """Whatever goes wrong, the request is answered and `done` told: a switch never hangs."""
        try:
            await self._switch(name, path, request, undo, done)
        except Exception as exc:  # a bug, not a bad file: counted as a fault, the old model plays on
            self.engine.faults("the model switch", exc)
            if request is not None:
                request.replies.refuse(
                    request, "model", CommandError("internal", f"model {name}: {_one_line(exc)}")
                )
            if done is not None:
                done(False)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.loading = None
        if not task.cancelled() and task.exception() is not None:  # done() itself raised
            self.engine.faults("the model switch", task.exception())  # type: ignore[arg-type]

    def undo(self, request: Request | None = None) -> None:
        if not self.earlier:
            raise CommandError("unavailable", "no earlier model to go back to")
        self.switch(self.earlier[-1], request, undo=True)

    async def _switch(
        self, name: str, path: Path, request: Request | None, undo: bool, done: Callable[[bool], None] | None
    ) -> None:
        try:
            loop = asyncio.get_running_loop()
            built = await loop.run_in_executor(self._builder, self._build, path)
            model = built.model
            # what each session was fed lately, taken between jobs, primes the new weights here
            snapshot = await asyncio.wrap_future(self.worker.submit(SNAPSHOT, self.worker.stepper.snapshot))
            primed = await loop.run_in_executor(self._builder, prime_states, model, snapshot)
        except (CheckpointError, ConfigError, OSError, RuntimeError, ValueError, KeyError) as exc:
            line = "the server stops" if self.closed else _one_line(exc)  # its builder is gone: no fault
            log.log(logging.INFO if self.closed else logging.WARNING, "model %s not switched: %s", name, line)
            if request is not None:
                request.replies.refuse(request, "model", CommandError("bad_file", f"model {name}: {line}"))
            if done is not None:
                done(False)
            return
        handed = time.perf_counter()
        try:
            sessions = await asyncio.wrap_future(self.worker.swap(model, primed, name))
        except Exception as exc:  # the worker refused the weights: the old ones play on
            if request is not None:
                request.replies.refuse(
                    request, "model", CommandError("bad_file", f"model {name}: {_one_line(exc)}")
                )
            if done is not None:
                done(False)
            return
        self.last_swap_ms = round((time.perf_counter() - handed) * 1000, 3)
        # every session has left the old model: it waits for the next switch's weights
        self._spare, self._playing = self._playing, built
        if undo:
            self.earlier.pop()
        elif name != self.current:
            self.earlier.append(self.current)
        self.current = name
        self.switches += 1
        self.engine.set_state("model", name)
        log.info(
            "model %s plays now (from %s; %d sessions primed, %d fed the notes since)",
            name,
            path,
            len(primed),
            len(sessions),
        )
        if done is not None:
            done(True)

    def _build(self, path: Path) -> Built:
        """The checkpoint's weights in the waiting model, or a model built in full."""
        checkpoint, config = read_weights(path, "cpu")
        spare = self._spare
        if spare is not None and spare.fits(config):
            load_into(spare, checkpoint)
            return spare
        log.info(
            "model %s: %s, not like the model waiting (%s): built in full, on the cores the music uses",
            path.stem,
            _describe(config),
            "none" if spare is None else _describe(spare.config),
        )
        model, _, _ = live_model(path, self.config)
        time.sleep(BREATHE_S)  # the loop and the worker run between the heavy parts
        warm_up(model, steps=SWITCH_WARMUP_STEPS)
        return Built(model, config)

    def close(self) -> None:
        self.closed = True
        self._builder.shutdown(wait=False, cancel_futures=True)

    def status(self) -> dict[str, Any]:
        return {"models_switched": self.switches, "model_swap_ms": self.last_swap_ms}


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BUILD_NICE)
    except (OSError, AttributeError):  # not Linux: the thread keeps the process's priority
        pass


def _describe(config: dict[str, Any]) -> str:
    sizes = ", ".join(f"{k} {v}" for k, v in config.items() if k not in ("arch", "vocab_size", "dropout"))
    return f"a {config.get('arch')} ({sizes})"


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    if len(lines) > 1 and exc.__cause__ is not None:  # torch's page-long refusal: its kind is enough
        return f"cannot read the checkpoint: {type(exc.__cause__).__name__}"
    return (lines[0] if lines else type(exc).__name__)[:200]
