"""The card of a learned model (NAME.md beside NAME.pt): what it learned from, how long
it took, and its figures before and after; and the piano roll of one continuation
before and after (NAME.png), when matplotlib (the train extra) is there."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..music.note import Note


def piano_roll(png: Path, prime: Sequence[Note], before: Sequence[Note], after: Sequence[Note], title: str) -> str:
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
        ax.set_title(f"{label}: the held-out phrase (grey), its continuation", fontsize=9)
    axes[-1].set_xlabel("seconds")
    fig.suptitle(title)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    plt.close(fig)
    return ""


def _fmt(v: Any) -> str:
    return "–" if v is None else str(v)


def _change(before: Any, after: Any) -> str:
    if before in (None, 0) or after is None:
        return "–"
    return f"{100 * (after - before) / before:+.1f} %"


def write_card(path: Path, facts: dict[str, Any]) -> None:
    """NAME.md from the learn's facts (see liveai.learn.run)."""
    b, a = facts["before"], facts["after"]
    lines = [
        f"# {facts['name']}: learned by `liveai learn`",
        "",
        f"Fine-tuned from `{facts['base']}` ({facts['arch']}) on `{facts['folder']}`, {facts['date']}.",
        "",
        "## What it learned from",
        "",
        f"- {facts['files']} files, {facts['notes']} notes: {facts['train_files']} learned from, "
        f"{facts['heldout_files']} held out by file (the corpus's sha1 rule){facts['split_note']}.",
        f"- Skipped: {facts['skipped_total']} ({facts['skipped_text']}).",
        f"- {facts['steps']} steps of {facts['batch_size']} windows of {facts['seq_len']} tokens in "
        f"{facts['minutes']} minutes on {facts['device']} ({facts['threads']} thread(s)); stopped by "
        f"{facts['stopped_by']}; the best held-out evaluation kept (step {facts['best_step']}).",
        f"- No forgetting: {facts['forgetting']}.",
        "",
        "## Figures, before and after",
        "",
        "| | before (base) | after (learned) | change |",
        "|---|---|---|---|",
        f"| held-out bits/event, the player's files ({facts['heldout_events']} events) | {_fmt(b['heldout_bits'])} | "
        f"{_fmt(a['heldout_bits'])} | {_change(b['heldout_bits'], a['heldout_bits'])} |",
        f"| bits/event, the corpus's test split ({facts['corpus_events']} events) | {_fmt(b['corpus_bits'])} | "
        f"{_fmt(a['corpus_bits'])} | {_change(b['corpus_bits'], a['corpus_bits'])} |",
        f"| key agreement of continuations ({b['phrases']} held-out phrases) | {_fmt(b['key_agreement'])} | "
        f"{_fmt(a['key_agreement'])} | |",
        f"| pitch-class correlation, phrase and continuation (mean) | {_fmt(b['pitch_class_correlation'])} | "
        f"{_fmt(a['pitch_class_correlation'])} | |",
        f"| pace: continuation / phrase notes per second, median | {_fmt(b['pace_ratio_median'])} | "
        f"{_fmt(a['pace_ratio_median'])} | |",
        f"| pace within 1.5x | {_fmt(b['pace_within_1_5x'])} | {_fmt(a['pace_within_1_5x'])} | |",
        "",
        f"The corpus: {facts['corpus']}. The held-out files also chose the checkpoint kept (the best "
        "evaluation), so their figure after is slightly optimistic; a folder of files never shown to "
        "`liveai learn` (`liveai evaluate FOLDER --model NAME`) is the unbiased measure.",
        "",
        "## One continuation, before and after",
        "",
    ]
    if facts.get("roll"):
        lines.append(f"![piano roll]({facts['roll']})")
    else:
        lines.append(facts.get("roll_note") or "No held-out phrase long enough for a continuation.")
    lines += ["", f"Checkpoint: `{facts['path']}`. Play with it: `liveai serve --set model.continuation="
              f"{facts['name']}`.", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(path)
