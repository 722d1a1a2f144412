"""The background job of learning live, as the server offers it (the protocol
liveai.core.learning_protocol.Learning): the model switch, the takes kept for
`learn.record`, and one `liveai learn` child at a time, whose new weights play as
soon as it is done; the older learned models pruned (`learn.keep`). A panic silences the music, not the
learning: only `/liveai/learn/stop` (or the server stopping) ends it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Config
from ..core.commands import Request
from ..core.engine import Engine
from ..errors import CommandError
from ..events import Report
from ..runtime.worker import Worker
from .learner import NICE, Run, command_line, config_settings
from .record import Keeper
from .settings import LEARNED, holds_midi, models_folder, prune_learned, recorded_folder
from .switch import ModelSwitch

log = logging.getLogger(__name__)
CLOSE_WAIT_S = 3.0  # at shutdown, the child's time to keep its weights before it is killed
# Below either, the weights still play but a warning says so: with fewer files the split
# shares or moves its held-out files (liveai.learn.split), and a few hundred notes make a
# handful of the learner's windows, scored on a few dozen held-out notes.
SMALL_FILES = 5
SMALL_NOTES = 1000


class LiveLearning:
    def __init__(self, config: Config, engine: Engine, worker: Worker) -> None:
        self.config = config
        self.engine = engine
        self.settings = config.learn
        self.models = ModelSwitch(config, engine, worker)
        self.keeper = (
            Keeper(recorded_folder(config), engine.stats, engine.now) if self.settings.record else None
        )
        self.run: Run | None = None
        self.stage = "idle"
        self.runs = 0
        self.removed = 0  # older learned models removed (learn.keep)
        # the last model learned: never pruned by name order alone (clocks step)
        self.fresh: str | None = None
        self._switching = False  # the model just learned is being switched to: pruned after
        self.closing = False  # the server stops: a learned model is kept, not switched to
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
        self._something_recorded()
        name = LEARNED.format(datetime.now(UTC))
        argv = command_line(
            recorded_folder(self.config),
            name,
            self.settings.threads,
            models_folder(self.config),
            self.models.current,
            config_settings(self.config),
            self.settings.live_minutes,
            self.settings.priority,
        )
        # "normal": the server's weight, which a new session's group has unless the server is niced
        nice = NICE if self.settings.priority == "idle" else (os.nice(0) or None)
        self.run = Run(argv, self.settings.threads, self._report, self._finished, nice)
        budget = self.settings.live_minutes * 60  # the learning's time budget; its evaluations come on top
        self._report(("starting", name, *(("eta_s", budget) if budget > 0 else ())))
        self._spawn(self._learn(self.run), "learn")

    def _something_recorded(self) -> None:
        """Refused at once, before a child starts, when there is nothing to learn from."""
        if (self.keeper is not None and self.keeper.waiting()) or holds_midi(recorded_folder(self.config)):
            return
        if self.keeper is None:
            raise CommandError("unavailable", "nothing recorded: set learn.record = true and play")
        raise CommandError("unavailable", "nothing recorded yet: play first")

    def stop(self) -> None:
        if self.run is None:
            raise CommandError("unavailable", "no learning runs")
        self.run.stop()

    # -- the run ---------------------------------------------------------------------------
    async def _learn(self, run: Run) -> None:
        try:
            if self.keeper is not None:
                await self.keeper.flush()  # tonight's playing, up to now
            log.info("learning with %s", " ".join(run.argv))
            self.runs += 1
            await run.run()
        finally:
            if self.run is run:
                self.run = None  # first: it has ended, whatever the pruning takes
        if not self._switching:  # else once the new model has been switched to
            await self._prune()

    async def _prune(self) -> None:
        """Only the last `learn.keep` learned models stay, never the one just learned nor one
        being switched to: its name, the time it was made, may sort low after a clock step."""
        keeping = {self.models.current, *self.models.earlier, self.fresh, self.models.loading} - {None}
        removed = await asyncio.to_thread(
            prune_learned, models_folder(self.config), self.settings.keep, keeping
        )
        self.removed += len(removed)
        if removed:
            log.info(
                "learn.keep = %d: removed the older learned models %s", self.settings.keep, ", ".join(removed)
            )

    def _report(self, args: tuple[Any, ...]) -> None:
        # those end a learning
        self._set_stage("idle" if args[0] in ("playing", "error", "no improvement") else str(args[0]))
        self.engine.output.send(Report("learn", args, t=self.engine.now()))

    def _finished(self, path: Path | None, error: str) -> None:
        self.fresh = path.stem if path is not None else self.fresh
        # nothing beat the base: nothing written
        if self.run is not None and self.run.result.get("best_step") == 0:
            if self.closing:  # as the other ends at shutdown: logged, not reported
                log.info("learning ended with the server: nothing beat %s by then", self.models.current)
                return
            log.info("nothing beat %s on the held-out files; it plays on", self.models.current)
            self._report(
                ("no improvement", path.stem if path else self.run.argv[self.run.argv.index("--name") + 1])
            )
            return
        if path is None and self.closing:  # the server stops: not a failure
            log.info("learning ended with the server: %s", error)
            return
        if path is None:
            self.engine.stats.count("learn_failed")
            log.warning("learning failed: %s", error)
            self._report(("error", error))
            return
        if self.closing:
            self._kept(path.stem)
            return
        self._warn_small()
        self._report(("switching", path.stem))
        self._switching = True
        self._spawn(self._play(path.stem), "learn-switch")

    async def _play(self, name: str) -> None:
        while self.models.busy:  # a switch asked for by hand finishes first
            await asyncio.sleep(0.05)
        if self.closing:
            self._kept(name)
            return
        try:
            self.models.switch(name, done=lambda ok: self._played(name, ok))
        except CommandError as exc:
            self._switching = False
            self._report(("error", exc.message))
            await self._prune()

    def _played(self, name: str, ok: bool) -> None:
        self._switching = False
        if not self.closing:
            self._spawn(self._prune(), "learn-prune")
        if ok:
            self._report(("playing", name))
        elif self.closing:  # the server stopped it mid-switch: the file would load, the builder is gone
            self._kept(name)
        else:
            self._report(("error", f"{name} would not load"))

    def _kept(self, name: str) -> None:
        log.info(
            "the server stops: the learned model is kept as %s in %s, not switched to "
            "(/liveai/model %s, or --set model.continuation=%s, plays it)",
            name,
            models_folder(self.config),
            name,
            name,
        )

    def _warn_small(self) -> None:
        done = self.run.result if self.run is not None else {}
        files, notes = done.get("files"), done.get("notes")
        if isinstance(files, int) and isinstance(notes, int) and (files < SMALL_FILES or notes < SMALL_NOTES):
            why = (
                f"small: learned from {notes} notes in {files} take{'' if files == 1 else 's'}, scored on "
                f"fewer; play {SMALL_FILES} "
                f"takes and {SMALL_NOTES:,} notes or more (some minutes) for a model that follows you"
            )
            log.warning("%s", why)
            self._report(("warning", why))

    def _set_stage(self, stage: str) -> None:
        if stage != "warning":  # a word along the way, not a stage
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
        self.closing = True
        run = self.run
        if run is not None and run.proc is not None:
            run.stop()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(run.proc.wait(), CLOSE_WAIT_S)
            run.kill()
            learning = [task for task in self._tasks if task.get_name() == "learn"]
            if learning:  # its last lines read, so that it says what was kept before it is cancelled
                _, unread = await asyncio.wait(learning, timeout=1.0)
                # killed at idle priority on a busy machine, a child may take long to go
                if unread and self.run is run:
                    log.info("learning ended with the server: killed before its last lines were read")
        if self.keeper is not None:
            await self.keeper.flush()
        self.models.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def status(self) -> dict[str, Any]:
        recorded = (
            {}
            if self.keeper is None
            else {
                "recorded_files": self.keeper.files,
                "recorded_removed": self.keeper.removed,
                "recorded_split": self.keeper.split,
            }
        )
        return {
            "model": self.models.current,
            "learning": self.stage,
            "learn_runs": self.runs,
            "learned_removed": self.removed,
            **self.models.status(),
            **recorded,
        }
