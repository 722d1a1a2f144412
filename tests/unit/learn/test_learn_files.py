"""A player's folder for `liveai learn`: bad files skipped and counted, the split by file,
the learned name confined to the model folder."""

from __future__ import annotations

import os
import pwd
import signal
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from liveai.data.corpus import PERFORMANCE, Piece
from liveai.data.midi import notes_to_midi
from liveai.data.shards import split_of
from liveai.errors import ConfigError, MidiFileError
from liveai.learn import folder as F
from liveai.learn.files import commit, signals_held, staged
from liveai.learn.split import split_pieces
from liveai.models.shipped import find_checkpoint, learned_path, model_folder, shipped_dir
from liveai.music.note import Note


def tune(path: Path, pitches: list[int]) -> Path:
    notes_to_midi([Note(i * 0.25, i * 0.25 + 0.2, p, 80) for i, p in enumerate(pitches)]).write(str(path))
    return path


def midi_bytes(division: int, tempo_us: int) -> bytes:
    track = (
        b"\x00\xff\x51\x03"
        + tempo_us.to_bytes(3, "big")
        + b"\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00"
    )
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, division) + b"MTrk" + struct.pack(">I", len(track)) + track


def test_bad_files_are_skipped_and_counted_each_with_its_reason(tmp_path: Path):
    tune(tmp_path / "good.mid", [60, 62, 64, 65])
    (tmp_path / "deep").mkdir()
    tune(tmp_path / "deep" / "also.MID", [67, 65, 64])
    (tmp_path / "notes.txt").write_text("not music")
    (tmp_path / "garbled.mid").write_bytes(b"MThd\x00\x00\x00\x06 not really")
    (tmp_path / "no_ticks.mid").write_bytes(midi_bytes(0, 500000))
    (tmp_path / "no_tempo.mid").write_bytes(midi_bytes(96, 0))
    notes_to_midi([]).write(str(tmp_path / "silent.mid"))
    with open(tmp_path / "huge.mid", "wb") as f:  # 100 MB, sparse: skipped by its size, never read
        f.truncate(100 * 2**20)
    got = F.read_folder(tmp_path, max_file_mb=16, max_memory_mb=512)
    assert sorted(p.rel_id for p in got.pieces) == ["deep/also.MID", "good.mid"]
    assert got.notes == 7
    assert dict(got.skipped) == {
        "notes.txt": F.NOT_MIDI,
        "garbled.mid": F.UNREADABLE,
        "no_ticks.mid": F.UNREADABLE,
        "no_tempo.mid": F.UNREADABLE,
        "silent.mid": F.NO_NOTES,
        "huge.mid": F.TOO_LARGE,
    }
    assert got.skipped_counts() == {F.NOT_MIDI: 1, F.UNREADABLE: 3, F.NO_NOTES: 1, F.TOO_LARGE: 1}


def test_a_folder_with_nothing_usable_is_refused_with_one_line(tmp_path: Path):
    with pytest.raises(MidiFileError, match="no usable MIDI files .*0 files"):
        F.read_folder(tmp_path, 16, 512)
    (tmp_path / "a.mid").write_bytes(b"nope")
    notes_to_midi([]).write(str(tmp_path / "b.mid"))
    with pytest.raises(
        MidiFileError, match="2 files; skipped: 1 not readable as MIDI: `a.mid`; 1 no notes: `b.mid`"
    ) as err:
        F.read_folder(tmp_path, 16, 512)
    assert "\n" not in str(err.value)
    with pytest.raises(MidiFileError, match="is not a folder"):
        F.read_folder(tmp_path / "a.mid", 16, 512)


def test_past_the_memory_budget_files_are_not_read_but_counted(tmp_path: Path):
    for i in range(6):
        tune(tmp_path / f"{i}.mid", [60 + i] * 4000)  # 4000 notes: 125 kB held each
    got = F.read_folder(tmp_path, 16, max_memory_mb=0.3)
    assert len(got.pieces) == 3 and got.skipped_counts() == {F.PAST_MEMORY: 3}
    assert got.notes * F.ROW_BYTES <= 0.3 * 2**20 + 4000 * F.ROW_BYTES  # at most one file past the line


def read_unprivileged(folder: Path) -> str:
    """read_folder in a forked child as a user the permissions apply to (root reads everything)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(r)
        try:
            if os.getuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            try:
                got = F.read_folder(folder, 16, 512)
                text = f"{len(got.pieces)} {got.describe_skipped()}"
            except Exception as exc:  # noqa: BLE001 (reported to the parent)
                text = f"{type(exc).__name__} {exc}"
            os.write(w, text.encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    os.waitpid(pid, 0)
    return text


def test_an_unreadable_folder_is_refused_and_an_unreadable_subfolder_counted():
    with tempfile.TemporaryDirectory() as where:  # /tmp: other users may pass through
        root = Path(where)
        root.chmod(0o755)
        tune(root / "good.mid", [60, 62, 64])
        (root / "locked").mkdir()
        tune(root / "locked" / "hidden.mid", [60])
        (root / "locked").chmod(0o000)
        try:
            assert read_unprivileged(root) == "1 1 a folder that cannot be read: `locked`"
            assert read_unprivileged(root / "locked").startswith("MidiFileError cannot read the folder")
        finally:
            (root / "locked").chmod(0o755)


def pieces(names: list[str]) -> list[Piece]:
    return [Piece(n, PERFORMANCE, np.array([[0.0, 0.5, 60, 80], [0.5, 1.0, 62, 80]] * 5)) for n in names]


def ids(ps: list[Piece]) -> set[str]:
    return {p.rel_id for p in ps}


def test_the_split_is_three_ways_by_file_fixed_and_stable_as_the_folder_grows():
    names = [f"song{i:03d}.mid" for i in range(200)]
    split = split_pieces(pieces(names))
    train, val, test = ids(split.train), ids(split.validation), ids(split.test)
    # the card's files chose nothing
    assert not train & val and not train & test and not val & test and not split.shared
    assert len(train) + len(val) + len(test) == 200 and 8 <= len(val) <= 32 and 8 <= len(test) <= 32
    assert val == {n for n in names if split_of(n) == "val"} and test == {
        n for n in names if split_of(n) == "test"
    }
    grown = split_pieces(pieces([f"new{i}.mid" for i in range(50)] + names[::-1]))
    assert val <= ids(grown.validation) and test <= ids(grown.test)  # a file keeps its side
    again = split_pieces(pieces(names))
    assert (ids(again.validation), ids(again.test)) == (val, test) and split.note == ""  # the rule is fixed


def names_on(side: str, n: int) -> list[str]:
    """The first n names the rule puts on one side: "train" or held out."""
    names = (f"take{i}.mid" for i in range(10_000))
    return [name for name in names if (split_of(name) == "train") == (side == "train")][:n]


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("side", ["train", "held out"])
def test_a_small_folder_still_has_a_file_on_each_side_none_shared(n: int, side: str):
    split = split_pieces(pieces(names_on(side, n)))  # all on one side by the rule alone
    train, val, test = ids(split.train), ids(split.validation), ids(split.test)
    assert len(train) >= 1 and len(val) >= 1 and len(test) >= 1 and len(train | val | test) == n
    assert not train & val and not train & test and not val & test and not split.shared
    assert "moved" in split.note and split.note == split_pieces(pieces(names_on(side, n)[::-1])).note


@pytest.mark.parametrize("side", ["train", "held out"])
def test_two_files_learn_one_and_share_the_other_for_validation_and_test_and_say_so(side: str):
    split = split_pieces(pieces(names_on(side, 2)))
    assert len(split.train) == 1 and ids(split.validation) == ids(split.test) and split.shared
    assert not ids(split.train) & ids(split.test) and "both validation and test" in split.note


def test_one_file_holds_out_its_last_fifth_shared_when_short_parted_when_long():
    split = split_pieces(pieces(["only.mid"]))
    assert [len(split.train[0].rows), len(split.validation[0].rows)] == [8, 2] and split.shared
    # it begins at 0 s, as a file does
    assert split.test == split.validation and split.validation[0].rows[0, 0] == 0.0
    assert "both validation and test" in split.note
    long = [
        Piece(
            "long.mid", PERFORMANCE, np.array([[i * 0.5, i * 0.5 + 0.4, 60 + i % 7, 80] for i in range(100)])
        )
    ]
    split = split_pieces(long)
    assert [len(split.train[0].rows), len(split.validation[0].rows), len(split.test[0].rows)] == [80, 10, 10]
    assert split.test[0].rows[0, 0] == 0.0 and not split.shared and "second test" in split.note


def test_a_learned_name_is_confined_to_the_model_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert learned_path("my_songs-2", str(tmp_path)) == tmp_path / "my_songs-2.pt"
    for bad in ["../escape", "a/b", "/etc/passwd", "", ".", "x.pt", "x y", "é"]:
        with pytest.raises(ConfigError, match="letters, digits"):
            learned_path(bad, str(tmp_path))
    for shipped in ["gru", "transformer", "vae", "synth", "harmony"]:
        assert (shipped_dir() / f"{shipped}.pt").exists()
        with pytest.raises(ConfigError, match="shipped model"):
            learned_path(shipped, str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert model_folder("") == tmp_path / "xdg" / "liveai" / "models"


def test_a_name_is_found_in_the_model_folder_first_then_among_the_shipped(tmp_path: Path):
    # not learned: the shipped place
    assert find_checkpoint("mine", str(tmp_path)) == shipped_dir() / "mine.pt"
    (tmp_path / "mine.pt").write_bytes(b"")
    assert find_checkpoint("mine", str(tmp_path)) == tmp_path / "mine.pt"
    assert find_checkpoint("gru", str(tmp_path)) == shipped_dir() / "gru.pt"
    assert find_checkpoint("../mine", str(tmp_path)) == Path("../mine")  # a path stays the path given


def test_copies_are_skipped_as_duplicates_and_the_skipped_named_ten_per_kind(tmp_path: Path):
    tune(tmp_path / "a.mid", [60, 62, 64, 65])
    (tmp_path / "b copy.mid").write_bytes((tmp_path / "a.mid").read_bytes())  # read after a.mid (sorted)
    tune(tmp_path / "c.mid", [60, 62, 64, 66])  # one note apart: not a copy
    for i in range(12):
        (tmp_path / f"notes{i:02}.txt").write_text("setlist")
    got = F.read_folder(tmp_path, 16, 512)
    assert sorted(p.rel_id for p in got.pieces) == ["a.mid", "c.mid"]
    assert got.skipped_counts() == {F.DUPLICATE: 1, F.NOT_MIDI: 12}
    text = got.describe_skipped()
    assert f"1 {F.DUPLICATE}: `b copy.mid`" in text
    assert "`notes09.txt` and 2 more" in text and "notes10" not in text


def test_signals_wait_for_the_renames_though_torch_threads_run(tmp_path: Path):
    """A signal the kernel gives one of torch's threads is still held off the renames of a
    model's files, then handled as usual once they are done."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    a = torch.randn(256, 256)
    float((a @ a).sum())  # torch's worker threads run now
    heard: list[str] = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: heard.append(signal.Signals(signum).name))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    (tmp_path / "m.pt").write_text("old")
    staged(tmp_path / "m.pt").write_text("new")
    try:
        with signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10**6):  # Python checks for signals between these
                pass
            heard.append("renamed")
            commit([tmp_path / "m.pt"], [])
        for _ in range(10**5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        torch.set_num_threads(threads)
    assert heard[0] == "renamed" and sorted(heard[1:]) == ["SIGINT", "SIGTERM"]
    assert (tmp_path / "m.pt").read_text() == "new" and signal.getsignal(signal.SIGINT) is previous[
        signal.SIGINT
    ]
