"""What each player plays, kept as dated MIDI files for learning (`learn.record`).

A take is one player's notes from their first note until they pause for IDLE_GAP_S
(or the server stops, or learning asks for what was played so far); a take of a few
notes only is not kept. Each is written off the loop as `<date>-<time>-<player>-take.mid`,
under a temporary name first, so a learner never reads half a file. The folder is
bounded: beyond MAX_FILES files, MAX_MB megabytes or MAX_AGE_DAYS days the oldest
takes go (only liveai's own, marked `-take.mid`: a player's other files there, dated
or not, are never touched), and a temporary file left by a crash goes after PART_AGE_S.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from ..core.stats import Stats
from ..data.midi import notes_to_midi
from ..events import Event, NoteOff, NoteOn, player_of
from ..music.note import Note

log = logging.getLogger(__name__)

IDLE_GAP_S = 30.0  # a pause this long ends a take
MIN_NOTES = 8  # a shorter take is not worth learning from
MAX_TAKE_NOTES = 20_000  # a take this long is written, and the next notes begin another
MAX_FILES = 2000
MAX_MB = 200.0
MAX_AGE_DAYS = 90.0
CHECK_S = 5.0  # how often takes are looked at for their pause
RECORDED = re.compile(r"\d{8}-\d{6}-[A-Za-z0-9_.-]+-take\.mid")
PARTIAL = re.compile(r"\.\d{8}-\d{6}-[A-Za-z0-9_.-]+-take\.mid\.part")
PART_AGE_S = 3600.0  # a temporary file this old is no write in progress: a crash's leftover


@dataclass
class Take:
    started: float  # time.monotonic() of its first note
    date: datetime
    last: float
    notes: list[Note] = field(default_factory=list)
    open: dict[tuple[int, int], tuple[float, int]] = field(default_factory=dict)  # (channel, pitch) -> (t, velocity)

    def end(self, t: float) -> list[Note]:
        """Its notes, those still held ending at `t`, from time 0."""
        held = [Note(s, max(t, s + 0.01), p, v) for (_, p), (s, v) in self.open.items()]
        notes = sorted([*self.notes, *held], key=lambda n: (n.start, n.pitch))
        return [Note(n.start - self.started, n.end - self.started, n.pitch, n.velocity) for n in notes]


class Keeper:
    """The engine's input tap for `learn.record`: every player's takes, into `folder`."""

    def __init__(self, folder: Path, stats: Stats, now: Callable[[], float] = time.monotonic,
                 today: Callable[[], datetime] = datetime.now) -> None:
        self.folder = folder
        self.stats = stats
        self.now = now
        self.today = today
        self.takes: dict[str, Take] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self.files = 0  # takes written
        self.removed = 0  # old takes removed to keep the folder within its bounds

    def tap(self, event: Event) -> None:
        if not isinstance(event, (NoteOn, NoteOff)):
            return
        player = player_of(event.source)
        take = self.takes.get(player)
        if take is not None and event.t - take.last >= IDLE_GAP_S:
            self._close(player)
            take = None
        if isinstance(event, NoteOn) and event.velocity > 0:
            if take is None:
                take = self.takes[player] = Take(event.t, self.today(), event.t)
            self._off(take, event.channel, event.pitch, event.t)  # a re-strike ends the note before
            if len(take.open) < 128:
                take.open[(event.channel, event.pitch)] = (event.t, event.velocity)
        elif take is not None:
            self._off(take, event.channel, event.pitch, event.t)
        if take is not None:
            take.last = event.t
            if len(take.notes) >= MAX_TAKE_NOTES:
                self._close(player)

    @staticmethod
    def _off(take: Take, channel: int, pitch: int, t: float) -> None:
        started = take.open.pop((channel, pitch), None)
        if started is not None:
            take.notes.append(Note(started[0], max(t, started[0] + 0.01), pitch, started[1]))

    def _close(self, player: str) -> None:
        take = self.takes.pop(player)
        notes = take.end(take.last)
        if len(notes) < MIN_NOTES:
            return
        name = f"{take.date:%Y%m%d-%H%M%S}-{_safe(player)}-take.mid"
        task = asyncio.get_running_loop().create_task(self._write(name, notes), name="record")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, name: str, notes: list[Note]) -> None:
        try:
            removed = await asyncio.to_thread(write_take, self.folder, name, notes)
        except OSError as exc:
            self.stats.count("recorded_failed")
            log.warning("a take was not kept: %s", exc)
            return
        self.files += 1
        self.removed += removed
        log.info("kept %d notes in %s", len(notes), self.folder / name)

    def close_idle(self) -> None:
        now = self.now()
        for player in [p for p, take in self.takes.items() if now - take.last >= IDLE_GAP_S]:
            self._close(player)

    async def flush(self) -> None:
        """Every take so far written (learning wants tonight's playing, up to now)."""
        for player in list(self.takes):
            self._close(player)
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_S)
            self.close_idle()


def _safe(player: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", player).strip("._")[:48] or "player"


def write_take(folder: Path, name: str, notes: list[Note]) -> int:
    """Write one take; then keep the folder within its bounds. How many old takes went."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.part"
    notes_to_midi(notes, name="played").write(str(partial))
    partial.replace(folder / name)
    return prune(folder)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def prune(folder: Path, max_files: int = MAX_FILES, max_mb: float = MAX_MB, max_age_days: float = MAX_AGE_DAYS,
          now: float | None = None) -> int:
    """Remove the oldest recorded takes beyond the bounds, and temporary files left
    for an hour; how many takes went."""
    now = time.time() if now is None else now
    found = {p: st for p in folder.iterdir() if (st := _stat(p)) is not None}  # another write may rename its file
    for path, st in found.items():
        if PARTIAL.fullmatch(path.name) and now - st.st_mtime > PART_AGE_S:
            path.unlink(missing_ok=True)
    takes = sorted((p for p in found if RECORDED.fullmatch(p.name)), key=lambda p: p.name)
    sizes = {p: found[p].st_size for p in takes}
    total = sum(sizes.values())
    removed = 0
    for path in takes:
        old = now - found[path].st_mtime > max_age_days * 86400
        if not old and len(takes) - removed <= max_files and total <= max_mb * 2**20:
            break
        path.unlink(missing_ok=True)
        total -= sizes[path]
        removed += 1
    return removed
