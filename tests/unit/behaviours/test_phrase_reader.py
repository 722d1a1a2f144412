"""The phrase reader reads one file at a time for the whole server, and reads the next
as soon as an answer is on the loop, even while its thread is still ending."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

from liveai.behaviours.morph_desk import Pattern
from liveai.behaviours.phrases import PhraseReader
from liveai.data.midi import notes_to_midi
from liveai.errors import CommandError
from liveai.music.note import Note


def test_the_reader_reads_the_next_once_an_answer_is_on_the_loop(tmp_path: Path) -> None:
    notes_to_midi([Note(i * 0.25, i * 0.25 + 0.2, 60 + i, 100) for i in range(8)]).write(
        str(tmp_path / "a.mid")
    )
    on_the_loop: list[Callable[[], None]] = []
    linger = threading.Event()

    def post(
        call: Callable[[], None],
    ) -> None:  # from the reader's thread: queued for the loop, then it lingers
        on_the_loop.append(call)
        linger.wait(5)

    got: list[Pattern | CommandError] = []
    reader = PhraseReader(post)
    reader.read(tmp_path, "a.mid", got.append)
    deadline = time.monotonic() + 5
    while not on_the_loop and time.monotonic() < deadline:
        time.sleep(0.01)
    reader.read(tmp_path, "a.mid", got.append)  # read, but not yet answered on the loop: it waits
    assert len(on_the_loop) == 1
    on_the_loop.pop()()  # the loop takes the answer; the thread has not ended yet, the next file is read
    assert isinstance(got[0], Pattern)
    linger.set()
    deadline = time.monotonic() + 5
    while not on_the_loop and time.monotonic() < deadline:
        time.sleep(0.01)
    on_the_loop.pop()()
    assert len(got) == 2 and isinstance(got[1], Pattern)


def test_the_reader_answers_on_the_loop_that_asked(tmp_path: Path) -> None:
    """Of its own (no model port lent to it): the answer runs on the asking loop's thread."""
    notes_to_midi([Note(i * 0.25, i * 0.25 + 0.2, 60 + i, 100) for i in range(8)]).write(
        str(tmp_path / "a.mid")
    )

    async def load() -> tuple[Pattern | CommandError, int]:
        answered: asyncio.Future[tuple[Pattern | CommandError, int]] = (
            asyncio.get_running_loop().create_future()
        )
        PhraseReader().read(
            tmp_path, "a.mid", lambda result: answered.set_result((result, threading.get_ident()))
        )
        return await asyncio.wait_for(answered, 10)

    result, thread = asyncio.run(load())
    assert isinstance(result, Pattern) and thread == threading.get_ident()
