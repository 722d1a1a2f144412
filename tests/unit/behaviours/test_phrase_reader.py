"""The phrase reader reads one file at a time for the whole server, and reads the next
as soon as an answer is on the loop, even while its thread is still ending."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from liveai.behaviours.morph_desk import Pattern
from liveai.behaviours.phrases import PhraseReader
from liveai.data.midi import notes_to_midi
from liveai.errors import CommandError
from liveai.music.note import Note


def test_the_reader_reads_the_next_once_an_answer_is_on_the_loop(tmp_path: Path) -> None:
    notes_to_midi([Note(i * 0.25, i * 0.25 + 0.2, 60 + i, 100) for i in range(8)]).write(
        str(tmp_path / "a.mid")
    )
    on_the_loop: list[tuple[Callable[[Any], None], Any]] = []
    linger = threading.Event()

    def post(fn: Callable[[Any], None]) -> Callable[[Any], None]:
        def answer(result: Any) -> None:  # from the reader's thread: queued for the loop, then it lingers
            on_the_loop.append((fn, result))
            linger.wait(5)

        return answer

    got: list[Pattern | CommandError] = []
    reader = PhraseReader()
    reader.read(tmp_path, "a.mid", got.append, post)
    deadline = time.monotonic() + 5
    while not on_the_loop and time.monotonic() < deadline:
        time.sleep(0.01)
    reader.read(tmp_path, "a.mid", got.append, post)  # read, but not yet answered on the loop: it waits
    assert len(on_the_loop) == 1
    fn, result = on_the_loop.pop()
    fn(result)  # the loop takes the answer; the thread has not ended yet, the next file is read
    assert isinstance(got[0], Pattern)
    linger.set()
    deadline = time.monotonic() + 5
    while not on_the_loop and time.monotonic() < deadline:
        time.sleep(0.01)
    fn, result = on_the_loop.pop()
    fn(result)
    assert len(got) == 2 and isinstance(got[1], Pattern)
    reader.wait()
