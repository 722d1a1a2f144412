"""What each player plays, kept as dated MIDI files for learning (`learn.record`).

A take is one player's notes from their first note until they pause for IDLE_GAP_S
(or the server stops, or learning asks for what was played so far); a take of a few
notes only is not kept. A take reaching MAX_TAKE_NOTES goes on in the next file (the
notes still held move with it: none is lost), counted in `split`. Each is written as
`<date>-<time>-<player>-take.mid` (`-2`, `-3`... before `-take` when that is taken:
never over another take), under a temporary name first, so a learner never reads half a
file. Written so that the music never waits: the MIDI bytes are built on the loop a slice
of SLICE_NOTES notes at a time (a thread building them would hold the GIL for hundreds of
milliseconds: scripts/bench_take_write.py), and only the file is written in a thread. The
folder is bounded: beyond MAX_FILES files, MAX_MB megabytes or MAX_AGE_DAYS days the oldest
takes go (only liveai's own, marked `-take.mid`: a player's other files there, dated
or not, are never touched), and a temporary file left by a crash goes after PART_AGE_S.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..core.stats import Stats
from ..events import Event, NoteOff, NoteOn, player_of
from ..music.note import Note

log = logging.getLogger(__name__)

IDLE_GAP_S = 30.0  # a pause this long ends a take
MIN_NOTES = 8  # a shorter take is not worth learning from
MAX_TAKE_NOTES = 4000  # a take this long is written, and the next notes go on in another file
SLICE_NOTES = 50  # notes made into MIDI bytes at a time on the loop, between which it serves the music
TICKS_PER_BEAT = 480
TEMPO_US = 500_000  # 120 beats a minute: 960 ticks a second
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
    # (channel, pitch) -> (t, velocity)
    open: dict[tuple[int, int], tuple[float, int]] = field(default_factory=dict)

    def end(self, t: float) -> list[Note]:
        """Its notes, those still held ending at `t`, in the order played (their times
        the loop's: `started` is the file's 0)."""
        return [*self.notes, *(Note(s, max(t, s + 0.01), p, v) for (_, p), (s, v) in self.open.items())]


class Keeper:
    """The engine's input tap for `learn.record`: every player's takes, into `folder`."""

    def __init__(
        self,
        folder: Path,
        stats: Stats,
        now: Callable[[], float] = time.monotonic,
        today: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.folder = folder
        self.stats = stats
        self.now = now
        self.today = today
        self.takes: dict[str, Take] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self.files = 0  # takes written
        self.removed = 0  # old takes removed to keep the folder within its bounds
        self.split = 0  # takes that reached MAX_TAKE_NOTES and went on in another file
        self._names: dict[str, str] = {}  # each player's last file name, so that a split never overwrites it

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
                self._split(player, take)

    def _split(self, player: str, take: Take) -> None:
        """The take so far to its file; the notes still held begin the next take."""
        held, take.open = take.open, {}
        self.split += 1
        self._close(player)
        if held:
            first = min(s for s, _ in held.values())
            self.takes[player] = Take(first, self.today(), take.last, open=held)

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
        base, n = self._name(player, take.date)
        task = asyncio.get_running_loop().create_task(
            self._write(base, n, notes, take.started), name="record"
        )
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def _name(self, player: str, date: datetime) -> tuple[str, int]:
        """`<date>-<time>-<player>` and the take's number in that second: a second take of
        the player in the same second (a split, a learn's flush) is `-2`, `-3`... after the
        player (write_take moves on to the next free number if another player has it)."""
        base = f"{date:%Y%m%d-%H%M%S}-{_safe(player)}"
        last = self._names.get(player, "")
        n = int(last[len(base) + 1 :]) + 1 if last.startswith(base + "-") else 2 if last == base else 1
        self._names[player] = base if n == 1 else f"{base}-{n}"
        return base, n

    async def _write(self, base: str, n: int, notes: list[Note], started: float) -> None:
        pieces = []
        for piece in track(notes, started):
            pieces.append(piece)
            await asyncio.sleep(0)  # the music between slices
        data = midi_file(b"".join(pieces))
        try:
            name, removed = await asyncio.to_thread(write_take, self.folder, base, data, n)
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

    def waiting(self) -> bool:
        """A take long enough to keep is being played, or being written."""
        return bool(self._writes) or any(len(t.notes) + len(t.open) >= MIN_NOTES for t in self.takes.values())

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


def write_take(folder: Path, base: str, data: bytes, n: int = 1) -> tuple[str, int]:
    """Write one take's MIDI file as `<base>[-<n>]-take.mid`, the first free from `n` on
    (claimed with O_EXCL: a take never replaces another, whatever two players' names
    become); then keep the folder within its bounds. Its name, and how many old takes went."""
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        name = f"{base}-take.mid" if n == 1 else f"{base}-{n}-take.mid"
        try:
            os.close(os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            break
        except FileExistsError:
            n += 1
    partial = folder / f".{name}.part"
    partial.write_bytes(data)
    partial.replace(folder / name)
    return name, prune(folder)


def midi_file(track_bytes: bytes) -> bytes:
    """A standard MIDI file, format 0, of one track's events (`track`)."""
    return (
        b"MThd"
        + (6).to_bytes(4, "big")
        + (0).to_bytes(2, "big")
        + (1).to_bytes(2, "big")
        + TICKS_PER_BEAT.to_bytes(2, "big")
        + b"MTrk"
        + len(track_bytes).to_bytes(4, "big")
        + track_bytes
    )


def track(notes: list[Note], started: float) -> Iterator[bytes]:
    """The events of a track (120 bpm, named "played") of `notes`, `started` its 0 s, in
    pieces of SLICE_NOTES notes: each piece is little work, so the loop serves the
    music between them."""
    notes = sorted(notes, key=lambda n: n.start)  # nearly in order already: played in order
    head = b"\x00\xff\x51\x03" + TEMPO_US.to_bytes(3, "big") + b"\x00\xff\x03\x06played"
    body = [head]
    offs: list[tuple[int, int]] = []  # (tick, pitch) of the note-offs to come
    tick = 0
    for i, n in enumerate(notes):
        on = _tick(n.start - started)
        while offs and offs[0][0] <= on:  # a note that ends as another begins ends first
            tick = _event(body, tick, *heapq.heappop(offs), 0x80, 64)
        tick = _event(body, tick, on, int(n.pitch), 0x90, max(1, min(127, int(n.velocity))))
        heapq.heappush(offs, (max(_tick(n.end - started), on + 1), int(n.pitch)))
        if (i + 1) % SLICE_NOTES == 0:
            yield b"".join(body)
            body.clear()
    while offs:
        tick = _event(body, tick, *heapq.heappop(offs), 0x80, 64)
    body.append(b"\x00\xff\x2f\x00")
    yield b"".join(body)


def _tick(seconds: float) -> int:
    return max(0, round(seconds * TICKS_PER_BEAT * 1_000_000 / TEMPO_US))


def _event(body: list[bytes], tick: int, at: int, pitch: int, status: int, velocity: int) -> int:
    body.append(_varlen(at - tick) + bytes((status, pitch & 0x7F, velocity)))
    return at


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def prune(
    folder: Path,
    max_files: int = MAX_FILES,
    max_mb: float = MAX_MB,
    max_age_days: float = MAX_AGE_DAYS,
    now: float | None = None,
) -> int:
    """Remove the oldest recorded takes beyond the bounds, and temporary files left
    for an hour; how many takes went."""
    now = time.time() if now is None else now
    # another write may rename its file
    found = {p: st for p in folder.iterdir() if (st := _stat(p)) is not None}
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
