"""learn.keep: the model folder keeps the last N models /liveai/learn made; never the
one playing, one undo can go back to, or a file liveai did not write."""

from __future__ import annotations

from pathlib import Path

from liveai.learn.card import TITLE
from liveai.live.settings import prune_learned


def learned(folder: Path, name: str, card: bool = True, roll: bool = True) -> None:
    (folder / f"{name}.pt").write_bytes(b"weights")
    if card:
        (folder / f"{name}.md").write_text(TITLE.format(name=name) + "\n\nFine-tuned from `gru`.\n")
    if roll:
        (folder / f"{name}.png").write_bytes(b"png")


def test_the_last_n_learned_models_stay_and_the_older_go_with_their_card_and_roll(tmp_path: Path):
    names = [f"learned-202612{d:02d}-210000" for d in range(1, 7)]  # oldest first
    for name in names:
        learned(tmp_path, name)
    assert prune_learned(tmp_path, 3, keeping=set()) == names[2::-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}{s}" for n in names[3:] for s in (".pt", ".md", ".png")
    )
    assert prune_learned(tmp_path, 3, keeping=set()) == []  # within the bound: nothing more
    # 0: keep all
    assert prune_learned(tmp_path, 0, keeping=set()) == [] and len(list(tmp_path.glob("*.pt"))) == 3


def test_the_model_playing_and_those_undo_names_stay_past_the_bound(tmp_path: Path):
    names = [f"learned-2026120{d}-210000" for d in range(1, 6)]
    for name in names:
        learned(tmp_path, name)
    # playing, and one undo goes back to
    removed = prune_learned(tmp_path, 1, keeping={names[0], names[2], "gru"})
    assert removed == [names[3], names[1]]
    assert sorted(p.stem for p in tmp_path.glob("*.pt")) == [names[0], names[2], names[4]]


def test_files_liveai_did_not_write_are_never_removed(tmp_path: Path):
    for d in range(1, 4):
        learned(tmp_path, f"learned-2026120{d}-210000")
    # a learned name, no card: not known to be liveai's
    learned(tmp_path, "learned-20250101-000000", card=False)
    learned(tmp_path, "learned-20240101-000000", card=False)
    (tmp_path / "learned-20240101-000000.md").write_text("# my notes\n")  # a card of the player's own
    learned(tmp_path, "mine")  # the player's own `liveai learn --name mine`: not /liveai/learn's
    (tmp_path / "learned-20230101-000000-old.pt").write_bytes(b"x")  # another name
    (tmp_path / "notes.txt").write_text("setlist")
    assert prune_learned(tmp_path, 1, keeping=set()) == ["learned-20261202-210000", "learned-20261201-210000"]
    assert sorted(p.stem for p in tmp_path.glob("*.pt")) == sorted(
        [
            "learned-20261203-210000",
            "learned-20250101-000000",
            "learned-20240101-000000",
            "mine",
            "learned-20230101-000000-old",
        ]
    )
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "learned-20240101-000000.md").exists()
