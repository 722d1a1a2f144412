"""The card of a learned morph VAE (NAME-vae.md beside NAME-vae.pt): what it learned from,
what was skipped and why, and its reconstruction figures before and after (those of
scripts/eval_vae.py, from the same code) on the held-out melodies and the corpus's test
split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROWS = (
    ("elbo_nats", "ELBO, nats per melody (lower is better)"),
    ("elbo_bits_per_step", "ELBO, bits per 16th step"),
    ("recon_nats", "reconstruction, nats per melody"),
    ("kl_nats", "KL, nats per melody"),
    ("note_accuracy_greedy", "notes reconstructed, greedy"),
    ("step_accuracy_greedy", "steps reconstructed, greedy"),
    ("note_accuracy_teacher_forced", "notes reconstructed, teacher forced"),
    ("dims_in_use", "latent dimensions in use"),
)


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _cell(figures: dict[str, Any] | None, key: str) -> str:
    return "–" if figures is None else str(figures.get(key, "–"))


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None, key: str) -> str:
    if not before or not after or not before.get(key):
        return "–"
    return f"{100 * (after[key] - before[key]) / before[key]:+.1f} %"


def write_vae_card(path: Path, facts: dict[str, Any]) -> None:
    data = facts["data"]
    b, a = facts["before"], facts["after"]
    serve = f"liveai serve --set model.morph={facts['name']}"
    if facts["model_folder"]:
        serve += f" --set model.folder={facts['model_folder']}"
    lines = [
        f"# {facts['name']}: the morph VAE learned by `liveai learn --vae`",
        "",
        f"Fine-tuned from `{facts['base']}` (`{facts['base_path']}`) on `{facts['folder']}`, "
        f"{facts['date']}.",
        "",
        "## What it learned from",
        "",
        f"- {_n(data.files, 'file')} gave {len(data.train) + len(data.held)} two-bar melodies (the top "
        "voice on the "
        f"file's own beat grid): {len(data.train)} from {_n(data.train_files, 'file')} learned from, "
        f"{len(data.held)} from {_n(data.held_files, 'file')} held out (split by file as the continuation "
        f"model's){data.split_note}.",
        f"- Skipped for the VAE: {len(data.skipped)} ({data.describe_skipped()}). A file needs a beat grid "
        "(ticks per beat and a tempo map that put its notes on 16ths or triplets, as a DAW or notation "
        "export "
        "has: a free-time recording has none) and two bars of 4/4 (or 2/2, 4/2) with at least 3 notes.",
        "",
        "## How",
        "",
        f"- {facts['steps']} steps of {facts['batch_size']} melodies (Adam, peak learning rate "
        f"{facts['lr']:g}) in "
        f"{facts['minutes']} minutes on {facts['device']} ({facts['threads']} "
        f"thread{'' if facts['threads'] == 1 else 's'}); stopped by "
        f"{facts['stopped_by']}; "
        f"the best held-out ELBO came at step {facts['best_step']}.",
        f"- Against forgetting: {facts['forgetting']}.",
        "- The shipped VAE's loss (reconstruction + beta x KL above the free bits, the base's own beta and "
        "free "
        "bits), each melody transposed by -6..+5 semitones.",
        "",
        "## Figures (reconstruction from the mean latent, as scripts/eval_vae.py)",
        "",
        f"Held out: {len(data.held)} melodies. Corpus: {facts['corpus_note']}.",
        "",
        "| figure | held out, before | after | change | corpus test, before | after | change |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in ROWS:
        hb, ha, cb, ca = b["held_out"], a["held_out"], b["corpus_test"], a["corpus_test"]
        lines.append(
            f"| {label} | {_cell(hb, key)} | {_cell(ha, key)} | {_change(hb, ha, key)} | "
            f"{_cell(cb, key)} | {_cell(ca, key)} | {_change(cb, ca, key)} |"
        )
    lines += [
        "",
        'The held-out melodies also chose which evaluation was kept, so their "after" is a little '
        "optimistic.",
        "",
        f"Checkpoint: `{facts['path']}`. Play with it in morph mode: `{serve}`.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
