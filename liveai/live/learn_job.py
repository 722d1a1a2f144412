"""The background job of learning live, as the server offers it (the protocol
liveai.core.learning_protocol.Learning): the model switch, the takes kept for
`learn.record`, and one `liveai learn` child at a time, whose new weights play as
soon as it is done; the older learned models pruned (`learn.keep`). A panic silences the music, not the
learning: only `/liveai/learn/stop` (or the server stopping) ends it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import Config
from ..core.commands import Request
from ..core.engine import Engine
from ..errors import CommandError
from ..events import Report
from ..runtime.worker import Worker
from .learner import Run, command_line, config_settings
from .record import Keeper
from .settings import LEARNED, models_folder, prune_learned, recorded_folder
from .switch import ModelSwitch

log = logging.getLogger(__name__)
CLOSE_WAIT_S = 3.0  # at shutdown, the child's time to keep its weights before it is killed


class LiveLearning:
    def __init__(self, config: Config, engine: Engine, worker: Worker) -> None:
        self.config = config
        self.engine = engine
        self.settings = config.learn
        self.models = ModelSwitch(config, engine, worker)
        self.keeper = Keeper(recorded_folder(config), engine.stats, engine.now) if self.settings.record else None
        self.run: Run | None = None
        self.stage = "idle"
        self.runs = 0
        self.removed = 0  # older learned models removed (learn.keep)
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """On the loop, when the server serves: the takes begin to be kept."""
        if self.keeper is not None:
            self.engine.input_taps.append(self.keeper.tap)
            self._spawn(self.keeper.run(), "record")
            log.info("keeping what is played in %s (learn.record)", self.keeper.folder)

    # -- the protocol ----------------------------------------------------------------------
    def switch(self, name: str, request: Request | None = None) -> None:
        self.models.switch(name, request)

    def undo(self, request: Request | None = None) -> None:
        self.models.undo(request)

    def learn(self, request: Request | None = None) -> None:
        if self.run is not None:
            raise CommandError("busy", "learning runs already (/liveai/learn/stop ends it)")
        name = LEARNED.format(datetime.now())
        argv = command_line(recorded_folder(self.config), name, self.settings.threads, models_folder(self.config),
                            self.models.current, config_settings(self.config))
        self.run = Run(argv, self.settings.threads, self._report, self._finished)
        self._report(("starting", name))
        self._spawn(self._learn(self.run), "learn")

    def stop(self) -> None:
        if self.run is None:
            raise CommandError("unavailable", "no learning runs")
        self.run.stop()

    # -- the run ---------------------------------------------------------------------------
    async def _learn(self, run: Run) -> None:
        try:
            if self.keeper is not None:
                await self.keeper.flush()  # tonight's playing, up to now
            log.info("learning: %s", " ".join(run.argv))
            self.runs += 1
            await run.run()
        finally:
            if self.run is run:
                self.run = None  # first: it has ended, whatever the pruning takes
        await self._prune()

    async def _prune(self) -> None:
        """Only the last `learn.keep` learned models stay (the new one is the newest)."""
        keeping = {self.models.current, *self.models.earlier}
        removed = await asyncio.to_thread(prune_learned, models_folder(self.config), self.settings.keep, keeping)
        self.removed += len(removed)
        if removed:
            log.info("learn.keep = %d: removed the older learned models %s", self.settings.keep, ", ".join(removed))

    def _report(self, args: tuple[Any, ...]) -> None:
        self._set_stage("idle" if args[0] in ("playing", "error", "no improvement") else str(args[0]))  # those end a learning
        self.engine.output.send(Report("learn", args, t=self.engine.now()))

    def _finished(self, path: Path | None, error: str) -> None:
        if self.run is not None and self.run.result.get("best_step") == 0:  # nothing beat the base: nothing written
            log.info("learning: nothing beat %s on the held-out files; it plays on", self.models.current)
            self._report(("no improvement", path.stem if path else self.run.argv[self.run.argv.index("--name") + 1]))
            return
        if path is None:
            self.engine.stats.count("learn_failed")
            log.warning("learning failed: %s", error)
            self._report(("error", error))
            return
        self._report(("switching", path.stem))
        self._spawn(self._play(path.stem), "learn-switch")

    async def _play(self, name: str) -> None:
        while self.models.busy:  # a switch asked for by hand finishes first
            await asyncio.sleep(0.05)
        try:
            self.models.switch(name, done=lambda ok: self._report(("playing", name) if ok else
                                                                   ("error", f"{name} would not load")))
        except CommandError as exc:
            self._report(("error", exc.message))

    def _set_stage(self, stage: str) -> None:
        self.stage = stage

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.engine.faults(f"the {task.get_name()} task", task.exception())  # type: ignore[arg-type]

    # -- the server's ----------------------------------------------------------------------
    async def close(self) -> None:
        """The child keeps its weights and ends (killed if it will not), the takes are written."""
        run = self.run
        if run is not None and run.proc is not None:
            run.stop()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(run.proc.wait(), CLOSE_WAIT_S)
            run.kill()
        if self.keeper is not None:
            await self.keeper.flush()
        self.models.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def status(self) -> dict[str, Any]:
        recorded = {} if self.keeper is None else {"recorded_files": self.keeper.files,
                                                    "recorded_removed": self.keeper.removed,
                                                    "recorded_split": self.keeper.split}
        return {"model": self.models.current, "learning": self.stage, "learn_runs": self.runs,
                "learned_removed": self.removed,
                **self.models.status(), **recorded}
