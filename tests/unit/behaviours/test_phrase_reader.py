"""The phrase reader reads one file at a time for the whole server, and is free again
as soon as its answer is on the loop, even while its thread is still ending (a thread
descheduled just after it answered made the next load 'busy')."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from liveai.behaviours.morph_desk import Pattern
from liveai.behaviours.phrases import PhraseReader
from liveai.data.midi import notes_to_midi
from liveai.errors import CommandError
from liveai.music.note import Note


def test_the_reader_is_free_once_its_answer_is_on_the_loop(tmp_path: Path) -> None:
    notes_to_midi([Note(i * 0.25, i * 0.25 + 0.2, 60 + i, 100) for i in range(8)]).write(str(tmp_path / "a.mid"))
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
    with pytest.raises(CommandError) as refused:  # read, but not yet answered on the loop: one at a time
        reader.read(tmp_path, "a.mid", got.append, post)
    assert refused.value.code == "busy"
    fn, result = on_the_loop.pop()
    fn(result)  # the loop takes the answer; the thread has not ended yet
    assert isinstance(got[0], Pattern)
    reader.read(tmp_path, "a.mid", got.append, post)  # free again
    linger.set()
    reader.wait()
