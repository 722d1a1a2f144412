"""learn.record's takes: one file per player per stretch of playing, short takes not
kept, written whole or not at all, and the folder kept within its bounds (liveai's
own files only)."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path

import pytest

from liveai.core.stats import Stats
from liveai.data.midi import read_notes
from liveai.events import NoteOff, NoteOn
from liveai.live.record import (
    IDLE_GAP_S,
    MAX_TAKE_NOTES,
    MIN_NOTES,
    SLICE_NOTES,
    Keeper,
    midi_file,
    prune,
    track,
)
from liveai.music.note import Note


def play(keeper: Keeper, source: str, start: float, n: int) -> float:
    t = start
    for i in range(n):
        keeper.tap(NoteOn(60 + i % 12, 80, t=t, source=source))
        keeper.tap(NoteOff(60 + i % 12, t=t + 0.2, source=source))
        t += 0.25
    return t


async def test_each_player_and_each_stretch_of_playing_is_a_file(tmp_path: Path):
    clock = [0.0]
    keeper = Keeper(
        tmp_path, Stats(0.0, 10.0), now=lambda: clock[0], today=lambda: datetime(2026, 12, 7, 21, 0, 0)
    )
    end = play(keeper, "osc:10.0.0.1:5000", 0.0, 12)
    play(keeper, "osc:10.0.0.1:5001", end, 4)  # the same host from another port: the same player, one take
    play(keeper, "session:bob", 0.0, MIN_NOTES - 1)  # too short to keep
    keeper.today = lambda: datetime(2026, 12, 7, 21, 5, 0)
    play(keeper, "osc:10.0.0.1:5000", end + IDLE_GAP_S + 1, 10)  # after a pause: a new take
    await keeper.flush()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["20261207-210000-osc_10.0.0.1-take.mid", "20261207-210500-osc_10.0.0.1-take.mid"]
    first = read_notes(tmp_path / files[0])
    assert len(first) == 16 and abs(first[0].start) < 1e-3 and abs(first[0].end - 0.2) < 1e-2
    assert len(read_notes(tmp_path / files[1])) == 10
    assert keeper.files == 2 and not keeper.takes


async def test_a_held_note_ends_with_the_take_and_idle_takes_close(tmp_path: Path):
    clock = [0.0]
    keeper = Keeper(tmp_path, Stats(0.0, 10.0), now=lambda: clock[0])
    play(keeper, "midi:keys", 0.0, MIN_NOTES)
    keeper.tap(NoteOn(72, 100, t=3.0, source="midi:keys"))  # still held
    clock[0] = 3.0 + IDLE_GAP_S - 1
    keeper.close_idle()
    assert keeper.takes  # not yet a pause
    clock[0] = 3.0 + IDLE_GAP_S
    keeper.close_idle()
    await keeper.flush()
    (path,) = tmp_path.glob("*.mid")
    assert [n.pitch for n in read_notes(path)][-1] == 72


def test_the_folder_is_bounded_and_only_recorded_takes_go(tmp_path: Path):
    names = [f"2026120{d}-210000-p-take.mid" for d in range(1, 6)]
    for name in names:
        (tmp_path / name).write_bytes(b"x" * 1000)
    (tmp_path / "my-song.mid").write_bytes(b"x" * 10_000)  # the player's own: never touched
    mine = tmp_path / "20240101-120000-piano.mid"  # the player's own, dated as a recorder dates them
    mine.write_bytes(b"x" * 10_000)
    os.utime(mine, (0, 0))  # and old
    assert prune(tmp_path, max_files=3) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name, *names[2:], "my-song.mid"]
    assert prune(tmp_path, max_files=10, max_mb=2000 / 2**20) == 1  # 3000 bytes of takes, 2000 allowed
    old = tmp_path / names[3]
    os.utime(old, (0, 0))
    assert prune(tmp_path, max_age_days=30) == 1 and not old.exists()
    assert (tmp_path / "my-song.mid").exists() and mine.exists()


def test_a_crash_s_temporary_files_go_after_an_hour_and_a_write_in_progress_stays(tmp_path: Path):
    left = tmp_path / ".20261207-210000-p-take.mid.part"
    writing = tmp_path / ".20261207-220000-p-take.mid.part"
    theirs = tmp_path / ".session.mid.part"  # not liveai's
    for path in (left, writing, theirs):
        path.write_bytes(b"x")
    os.utime(left, (0, 0))
    os.utime(theirs, (0, 0))
    assert prune(tmp_path) == 0  # no take removed: the count is of takes
    assert not left.exists() and writing.exists() and theirs.exists()


async def test_a_folder_that_cannot_be_written_is_counted_and_playing_goes_on(tmp_path: Path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    stats = Stats(0.0, 10.0)
    keeper = Keeper(blocked / "takes", stats)
    play(keeper, "midi:keys", 0.0, MIN_NOTES)
    await keeper.flush()
    assert stats.counters["recorded_failed"] == 1 and keeper.files == 0


async def test_a_take_at_its_largest_goes_on_in_the_next_file_and_no_note_is_lost(tmp_path: Path):
    keeper = Keeper(tmp_path, Stats(0.0, 10.0), today=lambda: datetime(2026, 12, 7, 21, 0, 0))
    keeper.tap(NoteOn(30, 90, t=0.0, source="midi:keys"))  # held across the split: a pedal tone
    end = play(keeper, "midi:keys", 0.0, MAX_TAKE_NOTES + 10)
    keeper.tap(NoteOff(30, t=end, source="midi:keys"))
    await keeper.flush()
    # the same second: the second file is numbered, none overwritten
    files = sorted(tmp_path.glob("*-take.mid"))
    assert [p.name for p in files] == [
        "20261207-210000-midi_keys-2-take.mid",
        "20261207-210000-midi_keys-take.mid",
    ]
    first, second = read_notes(files[1]), read_notes(files[0])
    assert len(first) == MAX_TAKE_NOTES and 30 not in {n.pitch for n in first}
    assert len(second) == 11 and keeper.split == 1 and keeper.files == 2
    held = [n for n in second if n.pitch == 30]  # whole, in the take it ended in, from its own start
    assert len(held) == 1 and held[0].start == 0.0 and abs(held[0].end - end) < 2e-3


async def test_players_whose_names_meet_never_replace_each_other_s_takes(tmp_path: Path):
    keeper = Keeper(tmp_path, Stats(0.0, 10.0), today=lambda: datetime(2026, 12, 7, 21, 0, 0))
    # "x" split in two meets "x-2"; "a b" and "a/b" are both "a_b" in a file name
    plays = {"session:x": MAX_TAKE_NOTES + 10, "session:x-2": 11, "session:a b": 8, "session:a/b": 9}
    for source, n in plays.items():
        play(keeper, source, 0.0, n)
    await keeper.flush()
    lengths = sorted(len(read_notes(p)) for p in tmp_path.glob("*-take.mid"))
    assert lengths == sorted([MAX_TAKE_NOTES, 10, 11, 8, 9]) and keeper.files == 5


def test_the_take_s_midi_file_has_the_notes_as_played(tmp_path: Path):
    # a re-strike, overlaps, a short note
    played = [
        Note(10.0, 10.5, 60, 100),
        Note(10.5, 11.0, 60, 1),
        Note(10.25, 12.0, 64, 127),
        Note(10.0, 10.01, 67, 64),
        Note(13.0, 13.2, 72, 30),
    ]
    (tmp_path / "t.mid").write_bytes(midi_file(b"".join(track(played, started=10.0))))
    read = sorted((n.start, n.end, n.pitch, n.velocity) for n in read_notes(tmp_path / "t.mid"))
    expected = sorted((n.start - 10.0, n.end - 10.0, n.pitch, n.velocity) for n in played)
    assert [(p, v) for *_, p, v in read] == [(p, v) for *_, p, v in expected]
    assert all(abs(a - b) <= 1 / 960 for r, e in zip(read, expected) for a, b in zip(r[:2], e[:2]))


async def test_writing_a_take_at_its_largest_gives_the_loop_back_between_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import liveai.live.record as record

    order: list[str] = []  # "slice" as each slice of the file is made, "music" as the other task runs
    made = record.track

    def sliced(notes, started):  # type: ignore[no-untyped-def]
        for piece in made(notes, started):
            order.append("slice")
            yield piece

    monkeypatch.setattr(record, "track", sliced)
    keeper = Keeper(tmp_path, Stats(0.0, 10.0))
    end = play(keeper, "midi:keys", 0.0, MAX_TAKE_NOTES - 1)
    writing = [True]

    async def music() -> None:  # another task on the loop, as the music is
        while writing[0]:
            order.append("music")
            await asyncio.sleep(0)

    task = asyncio.create_task(music())
    await asyncio.sleep(0)
    play(keeper, "midi:keys", end, 1)  # the largest take's last note: it goes to its file
    await keeper.flush()
    writing[0] = False
    await task
    assert len(read_notes(next(tmp_path.glob("*-take.mid")))) == MAX_TAKE_NOTES
    slices = [i for i, what in enumerate(order) if what == "slice"]
    assert len(slices) == MAX_TAKE_NOTES // SLICE_NOTES + 1  # the last holds the notes' ends
    # the music between every two
    assert all(order[a + 1 : b].count("music") >= 1 for a, b in zip(slices, slices[1:]))
