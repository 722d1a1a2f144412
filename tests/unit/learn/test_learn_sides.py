"""Which files do what in a learn: the validation files alone are scored while it learns
(they choose the checkpoint and the stop), the test files only before and after, for
the card; no file the model learned from scores it."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveai.config import load_config
from liveai.data.midi import notes_to_midi
from liveai.learn import loop, measure, run
from liveai.learn.folder import read_folder
from liveai.learn.split import split_pieces
from liveai.music.note import Note


def test_the_validation_files_choose_and_the_test_files_score_the_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "songs"
    folder.mkdir()
    for k in range(6):
        # one melody, six touches: four steps learn it (and something written needs learning)
        notes = [Note(i * 0.25, i * 0.25 + 0.2, 60 + (i * 3) % 12, 70 + k) for i in range(40)]
        notes_to_midi(notes).write(str(folder / f"tune{k}.mid"))
    whose: dict[int, set[str]] = {}  # the token lists the learn made, by the files they came from
    tokens = measure.piece_tokens

    def named(pieces, max_events):  # type: ignore[no-untyped-def]
        out = tokens(pieces, max_events)
        whose[id(out)] = {p.rel_id for p in pieces}
        return out

    scored: list[tuple[bool, set[str]]] = []  # (while learning, the files)
    learning = [False]
    bits = measure.bits
    monkeypatch.setattr(measure, "piece_tokens", named)
    monkeypatch.setattr(
        measure,
        "bits",
        lambda model, pieces: scored.append((learning[0], whose[id(pieces)])) or bits(model, pieces),
    )
    real_run = loop.Loop.run

    def marked(self, state=None):  # type: ignore[no-untyped-def]
        learning[0] = True
        try:
            return real_run(self, state)
        finally:
            learning[0] = False

    monkeypatch.setattr(loop.Loop, "run", marked)
    config = load_config(
        None, ["learn.batch_size=2", "learn.seq_len=32", "learn.eval_every=2", 'learn.corpus=""']
    )
    done = run.learn(
        config,
        run.LearnOptions(
            str(folder), "mine", steps=4, threads=1, progress="json", model_folder=str(tmp_path / "models")
        ),
    )
    split = split_pieces(read_folder(folder, 16, 512).pieces)
    validation, test = {p.rel_id for p in split.validation}, {p.rel_id for p in split.test}
    assert validation and test and not validation & test and done["test_files"] == len(test)
    during = [files for while_learning, files in scored if while_learning]
    assert len(during) == 2 and all(files == validation for files in during)  # steps 2 and 4
    around = [files for while_learning, files in scored if not while_learning]
    assert around.count(test) == 2 and around.count(validation) == 2  # before and after, each
