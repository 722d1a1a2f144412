"""The card of a learned model (NAME.md beside NAME.pt): what it learned from, how long
it took, and its figures before and after; and the piano roll of one continuation
before and after (NAME.png), when matplotlib (the train extra) is there."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..music.note import Note

NAMES_SHOWN = 8  # the files of a side named on the card, at most
TITLE = "# {name}: learned by `liveai learn`"  # a card's first line: liveai wrote this model


def is_card(path: Path, name: str) -> bool:
    """`path` is the card `liveai learn` wrote for the model `name`."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return f.readline().rstrip("\n") == TITLE.format(name=name)
    except OSError:
        return False


def piano_roll(
    png: Path, prime: Sequence[Note], before: Sequence[Note], after: Sequence[Note], title: str
) -> str:
    """Draw the phrase and its two continuations; '' when drawn, else why not."""
    try:
        import matplotlib  # noqa: PLC0415 (the train extra; optional)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return "matplotlib is not installed (pip install 'liveai[train]'): no piano roll"
    fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True, sharey=True)
    for ax, (label, cont) in zip(axes, (("before (base model)", before), ("after (learned)", after))):
        for notes, colour in ((prime, "0.55"), (cont, "tab:blue" if "before" in label else "tab:orange")):
            for n in notes:
                ax.broken_barh([(n.start, max(n.end - n.start, 0.02))], (n.pitch - 0.4, 0.8), color=colour)
        ax.set_ylabel("pitch")
        ax.set_title(f"{label}: a phrase of a test file (grey), its continuation", fontsize=9)
    axes[-1].set_xlabel("seconds")
    fig.suptitle(title)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90, format="png")  # png may be a staged name (NAME.png.new)
    plt.close(fig)
    return ""


def _fmt(v: Any) -> str:
    return "–" if v is None else str(v)


def _change(before: Any, after: Any) -> str:
    if before in (None, 0) or after is None:
        return "–"
    return f"{100 * (after - before) / before:+.1f} %"


def _names(names: list[str]) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def write_card(path: Path, facts: dict[str, Any]) -> None:
    """NAME.md from the learn's facts (see liveai.learn.run)."""
    b, a = facts["before"], facts["after"]
    lines = [
        TITLE.format(name=facts["name"]),
        "",
        f"Fine-tuned from `{facts['base']}` ({facts['arch']}) on `{facts['folder']}`, {facts['date']}.",
        "",
        "## What it learned from",
        "",
        f"- {facts['files']} files, {facts['notes']} notes, split by file with the corpus's sha1 rule: "
        f"{facts['train_files']} learned from, {len(facts['validation_files'])} validation (chose the "
        f"checkpoint kept and when to stop), {len(facts['test_files'])} test (scored this card)"
        + (f"; {facts['split_note']}" if facts["split_note"] else "")
        + ".",
        f"- Test files: {_names(facts['test_files'])}. Validation files: "
        f"{_names(facts['validation_files'])}.",
        f"- Skipped: {facts['skipped_total']} ({facts['skipped_text']}).",
        *([f"- Warning: {facts['small']}."] if facts.get("small") else []),
        f"- {facts['steps']} steps of {facts['batch_size']} windows of {facts['seq_len']} tokens in "
        f"{facts['minutes']} minutes on {facts['device']} ({facts['threads']} thread(s)); stopped by "
        f"{facts['stopped_by']}; the best evaluation on the validation files kept (step "
        f"{facts['best_step']}).",
        f"- Against forgetting: {facts['forgetting']}.",
        "",
        "## Figures, before and after",
        "",
        "| | before (base) | after (learned) | change |",
        "|---|---|---|---|",
        f"| bits/event, the player's test files ({facts['test_events']} events) | {_fmt(b['heldout_bits'])} "
        "| "
        f"{_fmt(a['heldout_bits'])} | {_change(b['heldout_bits'], a['heldout_bits'])} |",
        f"| bits/event, the corpus's test split ({facts['corpus_events']} events) | "
        f"{_fmt(b['corpus_bits'])} | "
        f"{_fmt(a['corpus_bits'])} | {_change(b['corpus_bits'], a['corpus_bits'])} |",
        f"| bits/event, the validation files ({facts['validation_events']} events; they chose the "
        "checkpoint) | "
        f"{_fmt(b.get('validation_bits'))} | {_fmt(a.get('validation_bits'))} | "
        f"{_change(b.get('validation_bits'), a.get('validation_bits'))} |",
        f"| key agreement of continuations ({b['phrases']} phrases of the test files) | "
        f"{_fmt(b['key_agreement'])} | "
        f"{_fmt(a['key_agreement'])} | |",
        f"| pitch-class correlation, phrase and continuation (mean) | {_fmt(b['pitch_class_correlation'])} | "
        f"{_fmt(a['pitch_class_correlation'])} | |",
        f"| pace: continuation / phrase notes per second, median | {_fmt(b['pace_ratio_median'])} | "
        f"{_fmt(a['pace_ratio_median'])} | |",
        f"| pace within 1.5x | {_fmt(b['pace_within_1_5x'])} | {_fmt(a['pace_within_1_5x'])} | |",
        "",
        f"The corpus: {facts['corpus']}. "
        + (
            "The test files are the validation files here (too few files to part them): they also chose the "
            "checkpoint kept, so their figure after is optimistic; `liveai evaluate FOLDER --model NAME` on "
            "files never shown to `liveai learn` is the unbiased measure."
            if facts["shared"]
            else "The test files were never seen while learning and chose nothing: their figure after "
            "is unbiased; "
            "the validation files' is optimistic, since they chose the checkpoint."
        ),
        "",
        "## One continuation, before and after",
        "",
    ]
    if facts.get("roll"):
        lines.append(f"![piano roll]({facts['roll']})")
    else:
        lines.append(facts.get("roll_note") or "No test phrase long enough for a continuation.")
    lines += [
        "",
        f"Checkpoint: `{facts['path']}`. Play with it: `liveai serve --set model.continuation="
        f"{facts['name']}`.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(path)
