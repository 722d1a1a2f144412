"""The pictures the training and evaluation scripts draw (matplotlib, the `train` extra)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only: no screen on these machines
import matplotlib.pyplot as plt  # noqa: E402


def learning_curve(
    log: Path, png: Path, title: str = "", keys: dict[str, str] | None = None, unit: str = "nats per melody"
) -> None:
    """Train and validation bits per event against steps, from a training log.jsonl;
    or, with `keys` (log field -> label), those fields in `unit` (the VAE's: nats per melody)."""
    if keys:
        _series_curve(log, png, title, keys, unit)
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


def _series_curve(log: Path, png: Path, title: str, keys: dict[str, str], unit: str) -> None:
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
    ax.set_ylabel(unit)
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


def spectrograms(
    rows: list[tuple[str, np.ndarray]],
    sample_rate: int,
    png: Path,
    title: str = "",
    seconds: float | None = None,
    n_fft: int = 2048,
    max_hz: float = 12_000.0,
    floor_db: float = 80.0,
) -> None:
    """Log-magnitude spectrograms, one row per (label, mono audio), of the first
    `seconds` (frames of the whole sound, so the cut adds no click); in dB from the
    loudest bin of all (0) down to -`floor_db`, one colour scale for every row."""
    window = np.hanning(n_fft).astype(np.float32)
    hop = n_fft // 4
    frames_kept = None if seconds is None else int(seconds * sample_rate / hop) + 1
    specs = []
    for _, audio in rows:
        padded = np.pad(np.asarray(audio, dtype=np.float32), (n_fft // 2, n_fft // 2))
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:frames_kept] * window
        specs.append(20 * np.log10(np.abs(np.fft.rfft(frames, axis=1)).T + 1e-5))
    top = max(float(s.max()) for s in specs)
    bins = int(max_hz / (sample_rate / n_fft)) + 1
    fig, axes = plt.subplots(len(rows), 1, figsize=(10, 2.1 * len(rows)), dpi=110, sharex=True, squeeze=False)
    for ax, (label, _), spec in zip(axes[:, 0], rows, specs):
        extent = (0.0, spec.shape[1] * hop / sample_rate, 0.0, bins * sample_rate / n_fft / 1000)
        image = ax.imshow(
            spec[:bins] - top,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=-floor_db,
            vmax=0.0,
            extent=extent,
            interpolation="nearest",
        )
        ax.set_ylabel("kHz")
        ax.set_title(label, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("seconds")
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="dB (re the loudest bin)", pad=0.01)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(png, bbox_inches="tight")
    plt.close(fig)


def decay_chart(
    curves: dict[str, list[list[float]]],
    points_s: Sequence[float],
    pitches: Sequence[int],
    png: Path,
    title: str = "",
) -> None:
    """One panel per held note: each system's level (dB, re its level at the first
    point) at `points_s` after the onset."""
    fig, axes = plt.subplots(
        1, len(pitches), figsize=(2.6 * len(pitches), 2.8), dpi=110, sharey=True, squeeze=False
    )
    for i, (ax, pitch) in enumerate(zip(axes[0], pitches)):
        for name, rows in curves.items():
            ax.plot(
                points_s,
                rows[i],
                marker="o",
                markersize=3,
                label=name,
                linewidth=2.2 if name == "reference" else 1.2,
                color="black" if name == "reference" else None,
            )
        ax.set_title(f"MIDI {pitch}", fontsize=9)
        ax.set_xlabel("s after onset")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("dB")
    axes[0, -1].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(png, bbox_inches="tight")
    plt.close(fig)


def chord_chart(
    names: Sequence[str], figures: dict[str, list[float]], png: Path, target_db: float, title: str = ""
) -> None:
    """Each system's off-harmonic energy per held chord (dB re its harmonics), the target
    as a dashed line: lower is cleaner."""
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(names)), 3.4), dpi=110)
    x = np.arange(len(names))
    for name, values in figures.items():
        ax.plot(
            x,
            values,
            marker="o",
            markersize=3,
            label=name,
            linewidth=2.2 if name == "reference" else 1.2,
            color="black" if name == "reference" else None,
        )
    ax.axhline(target_db, linestyle="--", color="grey", linewidth=1, label=f"target {target_db:g} dB")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=70, fontsize=7)
    ax.set_ylabel("off-harmonic energy, dB re harmonics")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(png, bbox_inches="tight")
    plt.close(fig)
