"""Phrases for the morph slots: the last two bars a session played (a capture) and
the first two bars of a MIDI file in `morph.folder` (a load), each as a two-bar melody
on the 16th grid (liveai.models.melody: the top voice). Whatever cannot be read is a
CommandError with its reason, and the slot stays as it was."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.midi import read_quarter_notes
from ..errors import CommandError, MidiFileError
from ..models import melody
from ..music.note import Note
from .morph_desk import Pattern

log = logging.getLogger(__name__)

BEATS_PER_BAR = melody.STEPS_PER_BAR // melody.STEPS_PER_QUARTER  # the VAE's bars are 4/4
MIN_NOTES = 2
MAX_FILE_BYTES = 256 * 1024  # a two-bar phrase is a few hundred bytes; a song's first bars, some KB


def captured(
    notes: Sequence[Note], now: float, beat_s: float, last_beat: tuple[int, float] | None
) -> Pattern:
    """The last two bars of `notes` on the 16th grid. While the clock runs its bar lines
    cut the phrase (the two bars that end with the bar of the last onset); when it is
    stopped the phrase starts on the first note of the last two bars' worth of playing."""
    step_s = beat_s / melody.STEPS_PER_QUARTER
    bars_s = melody.STEPS * step_s
    if not notes:
        raise CommandError("bad_value", "nothing to capture: no notes played in the last minute")
    if last_beat is not None:
        n, t = last_beat
        bar_line = t - (n % BEATS_PER_BAR) * beat_s
        last_onset = max(round((note.start - bar_line) / step_s) for note in notes)
        end_bar = last_onset // melody.STEPS_PER_BAR + 1
        origin = bar_line + (end_bar - 2) * melody.STEPS_PER_BAR * step_s
    else:
        last = max(note.start for note in notes)
        origin = min(note.start for note in notes if note.start > last - bars_s + step_s / 2)
    inside = [note for note in notes if origin - step_s / 2 <= note.start < origin + bars_s - step_s / 2]
    tokens = melody.from_notes(inside, origin, step_s)
    if melody.note_count(tokens) < MIN_NOTES:
        raise CommandError(
            "bad_value",
            f"a capture needs at least {MIN_NOTES} notes in the last two bars "
            f"(found {melody.note_count(tokens)})",
        )
    return Pattern(tuple(tokens), round(sum(n.velocity for n in inside) / len(inside)))


def confined(folder: Path, name: str) -> Path:
    """`name` inside `folder` (relative, or absolute within it); `..`, other absolute
    paths and symlinks that lead out are refused."""
    try:
        root = folder.resolve()
        candidate = (root / name).resolve()  # follows symlinks: one out of the folder lands outside
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a name too long, a symlink loop
        raise CommandError("bad_path", f"morph/load cannot use {name[:80]!r}: {exc}") from None
    if not candidate.is_relative_to(root) or candidate == root:
        raise CommandError("bad_path", f"morph/load reads files inside {folder} only, not {name[:80]!r}")
    return candidate


def phrase_file(folder: Path, name: str) -> Path:
    """The file `name` in `folder` (created on first use), checked on the loop: inside
    the folder, there, and no bigger than MAX_FILE_BYTES (CommandError otherwise)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)  # created on first use
    except OSError as exc:
        raise CommandError("bad_path", f"morph.folder {folder}: {exc.strerror}") from None
    path = confined(folder, name)
    try:
        size = path.stat().st_size if path.is_file() else -1
    except OSError as exc:
        raise CommandError("bad_path", f"morph/load cannot read {name[:80]!r}: {exc.strerror}") from None
    if size < 0:
        raise CommandError("bad_path", f"no file {name[:80]!r} in {folder}")
    if size > MAX_FILE_BYTES:
        raise CommandError(
            "bad_file", f"{name[:80]}: {size} bytes, more than a phrase ({MAX_FILE_BYTES} at most)"
        )
    return path


def read_phrase(path: Path, name: str) -> Pattern:
    """The first 8 quarter notes of a MIDI file from its first note, on its own beats
    (two bars of 4/4 when it starts on a downbeat), its top voice. Parsing a big file is
    slow: PhraseReader runs it off the loop."""
    try:
        rows = read_quarter_notes(path)
    except MidiFileError as exc:
        raise CommandError("bad_file", str(exc)) from None
    if not rows:
        raise CommandError("bad_file", f"{name}: no notes")
    start = min(r[0] for r in rows)
    onsets = [round((r[0] - start) * melody.STEPS_PER_QUARTER) for r in rows]
    ends = [round((r[1] - start) * melody.STEPS_PER_QUARTER) for r in rows]
    tokens = melody.top_voice(onsets, ends, [r[2] for r in rows])
    if melody.note_count(tokens) < MIN_NOTES:
        raise CommandError("bad_value", f"{name}: fewer than {MIN_NOTES} notes in its first two bars")
    velocities = [r[3] for r, on in zip(rows, onsets) if on < melody.STEPS]
    return Pattern(tuple(tokens), round(sum(velocities) / len(velocities)))


@dataclass(frozen=True)
class _Load:
    folder: Path
    name: str
    done: Callable[[Pattern | CommandError], None]


Post = Callable[[Callable[[], None]], None]  # hands a call from another thread to the loop's


class PhraseReader:
    """Reads phrase files on a thread of its own, one at a time for the whole server, and
    answers on the loop: parsing is slow and must hold up neither the loop nor the model
    worker (a pure-Python parse still takes the GIL, a switch interval at a time).
    While one is read, one more file waits per slot: a later load of that slot takes its
    place (the player's latest choice), so a flood of loads never queues up reads.

    `post` hands the answer to the loop; by default the running loop's
    `call_soon_threadsafe`, taken when a file is asked for (on the loop)."""

    def __init__(self, post: Post | None = None) -> None:
        self._post = post
        # from the ask to the answer, on the loop (a thread ends a moment after it answers)
        self._reading = False
        self._waiting: dict[Hashable, _Load] = {}  # slot -> the file read next for it, in the order asked

    def read(
        self,
        folder: Path,
        name: str,
        done: Callable[[Pattern | CommandError], None],
        slot: Hashable = None,
    ) -> None:
        """Check `name` now (CommandError), then read it (after the file being read, if
        any) and hand `done` the Pattern or the CommandError on the loop; `slot` names
        the slot (and session) it is for."""
        phrase_file(folder, name)  # the path's mistakes are answered at once
        load = _Load(folder, name, done)
        if not self._reading:
            self._start(load)
            return
        replaced = self._waiting.pop(slot, None)
        if replaced is not None:
            log.info(
                "morph/load: %s is not read: %s was asked for its slot since", replaced.name[:80], name[:80]
            )
        self._waiting[slot] = load

    def _start(self, load: _Load) -> None:
        post = self._post or _on_the_loop(asyncio.get_running_loop())

        def answered(result: Pattern | CommandError) -> None:
            self._reading = False
            try:
                load.done(result)
            finally:
                self._next()

        def run() -> None:
            try:  # checked again: it may have changed
                result: Pattern | CommandError = read_phrase(phrase_file(load.folder, load.name), load.name)
            except CommandError as exc:
                result = exc
            except Exception as exc:  # a reader's bug is a refusal, not a silent hang
                result = CommandError("bad_file", f"morph/load: {type(exc).__name__}: {exc}")
            post(lambda: answered(result))

        # a daemon: at shutdown a file being read is simply left
        thread = threading.Thread(target=run, name="liveai-phrase-reader", daemon=True)
        thread.start()  # raises (no thread to be had): nothing is being read, and the next load may try
        self._reading = True  # set on the loop before the answer can be: the answer runs on the loop too

    def _next(self) -> None:
        """The file that waited longest, once the one before is answered."""
        while self._waiting and not self._reading:
            load = self._waiting.pop(next(iter(self._waiting)))
            try:
                self._start(load)
            except Exception as exc:  # no thread to be had: this one is refused, the next may try
                load.done(CommandError("busy", f"morph/load: {load.name[:80]} cannot be read now: {exc}"))


def _on_the_loop(loop: asyncio.AbstractEventLoop) -> Post:
    def post(call: Callable[[], None]) -> None:
        try:
            loop.call_soon_threadsafe(call)
        except RuntimeError:
            log.debug("loop closed; a phrase file's answer was dropped")  # shutting down

    return post
