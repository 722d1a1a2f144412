"""Learning in the background: `liveai learn` as a child process at the lowest
priority (`learn.priority` "idle": `nice -n 19`, and Linux's idle scheduling class where
`chrt` is: it runs on what the server leaves; "normal": the server's own), on
`learn.threads` threads, never on the model's worker thread.

Its JSON lines (`--progress json`) are read on the loop as they come (a line longer
than MAX_LINE is skipped, not buffered) and reported as `/liveai/out/learn`; the
weights come back through a file, which the switch loads off the loop. One runs at
a time. `LIVEAI_LEARN_COMMAND` replaces `python -m liveai learn` (tests, benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config
from ..runtime.niceness import group_niceness

log = logging.getLogger(__name__)

MAX_LINE = 16 * 1024
NICE = 19
REPORT_EVERY_S = 0.5  # progress lines are reported at most this often (a stage change always)
STOP_GRACE_S = 10.0  # after SIGTERM, the child keeps its best weights; then it is killed
FIELDS = ("files", "of", "step", "steps", "minutes", "eta_s", "validation_bits", "notes")


def learn_command() -> list[str]:
    custom = os.environ.get("LIVEAI_LEARN_COMMAND", "")
    return shlex.split(custom) if custom else [sys.executable, "-m", "liveai", "learn"]


def command_line(
    folder: Path,
    name: str,
    threads: int,
    model_folder: Path,
    base: str,
    settings: list[str] | None = None,
    minutes: float | None = None,
    priority: str = "idle",
) -> list[str]:
    """`base` is the model playing now (shipped, learned or a path): the one to improve;
    `settings` the server's own (`config_settings`), so the child learns as configured;
    `minutes` its time budget (`learn.live_minutes`); `priority` `learn.priority`."""
    nice = ["nice", "-n", str(NICE)] if shutil.which("nice") and priority == "idle" else []
    if priority == "idle" and shutil.which("chrt") and sys.platform.startswith("linux"):
        nice = ["chrt", "--idle", "0", *nice]
    args = [
        str(folder),
        "--name",
        name,
        "--progress",
        "json",
        "--threads",
        str(threads),
        "--model-folder",
        str(model_folder),
        "--model",
        base,
    ]
    if minutes is not None:
        args += ["--minutes", f"{minutes:g}"]
    return [*nice, *learn_command(), *args, *[item for kv in settings or [] for item in ("--set", kv)]]


def config_settings(config: Config) -> list[str]:
    """One `section.key=value` per learn.* and model.* field of the server's config (its
    file and its --set overrides applied): what `liveai learn` reads."""
    return [
        f"{section}.{f.name}={_toml(getattr(getattr(config, section), f.name))}"
        for section in ("learn", "model")
        for f in dataclasses.fields(getattr(config, section))
    ]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    return repr(value)


def report_args(line: dict[str, Any]) -> tuple[Any, ...]:
    """`/liveai/out/learn`'s arguments for one progress line: the stage, then name value
    pairs of its numbers (a finished run's `before` and `after` figures flattened)."""
    args: list[Any] = [str(line.get("stage", "?"))[:32]]
    for key in FIELDS:
        if _number(line.get(key)):
            args += [key, line[key]]
    for side in ("before", "after"):
        figures = line.get(side)
        if isinstance(figures, dict):
            args += [
                item
                for key, value in list(figures.items())[:16]
                if _number(value)
                for item in (f"{side}_{str(key)[:40]}", value)
            ]
    return tuple(args)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Run:
    """One `liveai learn` child. `report(args)` hears its progress; `finished(path,
    error)` its end: the checkpoint written, or the one line that says why not; then
    `result` is its last "saved" or "done" line (`best_step` 0: nothing beat the base)."""

    def __init__(
        self,
        argv: list[str],
        threads: int,
        report: Callable[[tuple[Any, ...]], None],
        finished: Callable[[Path | None, str], None],
        nice: int | None = NICE,
    ) -> None:
        self.argv = argv
        self.threads = threads
        self.nice = nice  # its scheduling group's niceness (None: left as the kernel made it)
        self.report = report
        self.finished = finished
        self.proc: asyncio.subprocess.Process | None = None
        self.started = time.monotonic()
        self._last_report = 0.0
        self._stage = ""
        self._stopping = False
        self.result: dict[str, Any] = {}  # the last "saved" or "done" line

    async def run(self) -> None:
        if self._stopping:  # stopped while the takes were still being written
            self.finished(None, "stopped before it began")
            return
        threads = str(self.threads)
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                limit=MAX_LINE,
                start_new_session=True,
            )
        except OSError as exc:
            self.finished(None, f"cannot start {self.argv[0]}: {exc.strerror or exc}")
            return
        # its session's group too, else it weighs as the server (off the loop: it may retry)
        if self.nice is not None:
            await asyncio.to_thread(group_niceness, self.proc.pid, self.nice)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        done, errors = await asyncio.gather(self._lines(self.proc.stdout), _last_line(self.proc.stderr))
        code = await self.proc.wait()
        self.result = done or {}
        path = Path(str(done["path"])) if done and done.get("path") else None
        # stopped, the weights saved count even if the figures after were cut short
        if (
            (code == 0 or (self._stopping and done and done.get("stage") == "saved"))
            and path
            and path.is_file()
        ):
            self.finished(path, "")
        else:
            # stopped, what the child said last is its chatter on the way out, not why
            why = (
                "stopped before any weights were kept"
                if self._stopping
                else errors or f"liveai learn ended with exit code {code} and no checkpoint"
            )
            self.finished(None, why)

    async def _lines(self, stream: asyncio.StreamReader) -> dict[str, Any] | None:
        done = None
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # longer than MAX_LINE: dropped (its tail will not parse either)
                continue
            if not raw:
                return done
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # not a progress line (a library's chatter)
            if not isinstance(line, dict):
                continue
            if line.get("stage") in ("saved", "done"):  # the weights are kept; "done" adds the figures
                done = line
            self._report(line)

    def _report(self, line: dict[str, Any]) -> None:
        now, stage = time.monotonic(), str(line.get("stage", ""))
        scored = _number(line.get("validation_bits"))  # an evaluation's figure is never dropped
        if (
            stage == self._stage
            and stage != "done"
            and not scored
            and now - self._last_report < REPORT_EVERY_S
        ):
            return
        self._stage, self._last_report = stage, now
        self.report(report_args(line))

    def stop(self) -> None:
        """SIGTERM: the child keeps its best weights so far and ends; killed if it will not."""
        if self.proc is None:
            self._stopping = True
            return
        if self.proc.returncode is not None:
            return
        self._stopping = True
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        asyncio.get_running_loop().call_later(STOP_GRACE_S, self.kill)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


async def _last_line(stream: asyncio.StreamReader) -> str:
    """The child's last non-empty line on stderr (its one line of refusal), bounded."""
    last = ""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # an overlong line: dropped
            continue
        if not raw:
            return last
        text = raw.decode(errors="replace").strip()
        if text:
            last = text[:300]
