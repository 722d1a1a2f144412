"""The pictures the training and evaluation scripts draw (matplotlib, the `train` extra)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no screen on these machines
import matplotlib.pyplot as plt  # noqa: E402


def learning_curve(log: Path, png: Path, title: str = "", keys: dict[str, str] | None = None) -> None:
    """Train and validation bits per event against steps, from a training log.jsonl;
    or, with `keys` (log field -> label), those fields (nats per melody, the VAE's)."""
    if keys:
        _series_curve(log, png, title, keys)
        return
    train: list[tuple[int, float]] = []
    val: dict[str, list[tuple[int, float]]] = {}
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        if "train_bits_per_event" in rec:
            train.append((rec["step"], rec["train_bits_per_event"]))
        for key, value in rec.items():
            if key.startswith("val_") and key.endswith("bits_per_event"):
                label = key.removeprefix("val_").removesuffix("bits_per_event").strip("_") or "mean"
                val.setdefault(label, []).append((rec["step"], value))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if train:
        ax.plot(*zip(*train), label="train (windows as performed)", lw=1, alpha=0.7)
    for label, points in val.items():
        ax.plot(*zip(*points), "o-", label=f"validation: {label}", lw=1.5, ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("bits per event")
    ax.set_title(title or log.parent.name)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)


def _series_curve(log: Path, png: Path, title: str, keys: dict[str, str]) -> None:
    series: dict[str, list[tuple[int, float]]] = {k: [] for k in keys}
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        for key in keys:
            if key in rec:
                series[key].append((rec["step"], rec[key]))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for key, points in series.items():
        if points:
            style = "o-" if key.startswith("val_") else "-"
            ax.plot(*zip(*points), style, label=keys[key], lw=1.2, ms=3, alpha=0.9)
    ax.set_xlabel("step")
    ax.set_ylabel("nats per melody")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)


def robustness_chart(rows: list[str], scores: dict[str, list[float]], png: Path, title: str) -> None:
    """Bits per event of each scorer (bars) on each variation (groups)."""
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    width = 0.8 / max(len(scores), 1)
    for i, (name, values) in enumerate(scores.items()):
        ax.bar([r + i * width for r in range(len(rows))], values, width, label=name)
    ax.set_xticks([r + 0.4 - width / 2 for r in range(len(rows))], rows, rotation=30, ha="right")
    ax.set_ylabel("bits per event (lower is better)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
