"""`liveai learn --vae`: the morph VAE fine-tuned on the folder's two-bar melodies, written
as NAME-vae.pt beside NAME.pt (the same checkpoint format, the one loader), with its card
NAME-vae.md. `liveai serve --set model.morph=NAME-vae` plays it.

Each file is read on its own beat grid (liveai.data.grid: ticks per beat, tempo map,
time signatures) and cut into melodies by the corpus's code (liveai.data.melodies);
a file in free time, or with no two bars of 4/4, is skipped and counted. The files are
split as the continuation model's are. Training is the shipped VAE's (learn/vae_loop.py:
its loss, free bits and beta from the base checkpoint, transposition), pulled toward
the base weights (L2-SP, learn.l2sp) and, given --replay, replaying the corpus's
melodies; the best held-out ELBO is kept. Its figures before and after are
scripts/eval_vae.py's reconstruction figures, on the held-out melodies and the
corpus's test split (so forgetting shows).
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import Config
from ..data.corpus import load_pieces
from ..data.grid import grid_melodies
from ..data.melodies import melodies
from ..errors import ConfigError, MidiFileError
from ..models import melody
from ..models.checkpoint import CheckpointError, load_checkpoint, read_weights, save_checkpoint
from ..models.shipped import find_checkpoint, learned_path
from ..runtime.device import choose_device
from .files import commit, discard, staged
from .folder import UNREADABLE, Folder
from .loop import NO_LIMIT, Anchor, LoopState, Schedule, forgetting, progress, stopped_by
from .vae_card import write_vae_card
from .vae_loop import LN2, VAELoop, evaluate, transpose_batch

EVAL_MELODIES = 2000  # held-out and corpus melodies scored, at most
HELD_OUT_SHARE = 0.2  # of the melodies, when the files cannot be split (one file, or one side empty)
# The VAE starts from a minimum its training reached at a learning rate of 1e-5: at
# learn.lr it forgot the corpus faster and gained less than at a fifth of it, and its
# held-out ELBO (mostly KL) wavers, so it waits three times learn.patience (measured:
# docs/learn.md, "The morph VAE").
LR_SHARE, PATIENCE_TIMES = 0.2, 3
SUFFIXED = 64 - len("-vae")  # a learned name's length, at most, when NAME-vae must be one too


@dataclass
class Melodies:
    """The folder's two-bar melodies (N, 32) uint8, split by file."""

    train: np.ndarray
    held: np.ndarray
    files: int  # files that gave melodies
    train_files: int
    held_files: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path in the folder, why)
    split_note: str = ""

    def skipped_counts(self) -> dict[str, int]:
        return dict(Counter(why for _, why in self.skipped))

    def describe_skipped(self) -> str:
        return ", ".join(f"{n} {why}" for why, n in self.skipped_counts().items()) or "none"


def read_melodies(folder: Folder, held_ids: set[str]) -> Melodies:
    """The melodies of the folder's usable files (`folder.pieces`), those of `held_ids`
    held out. MidiFileError (exit 2) when no file gives one."""
    by_file: list[tuple[str, list[list[int]]]] = []
    skipped: list[tuple[str, str]] = []
    for piece in folder.pieces:
        try:
            rows, why = grid_melodies(folder.root / piece.rel_id, piece.rel_id)
        except MidiFileError:
            rows, why = [], UNREADABLE
        if rows:
            by_file.append((piece.rel_id, rows))
        else:
            skipped.append((piece.rel_id, str(why)))
    if not by_file:
        counts = ", ".join(f"{n} {why}" for why, n in Counter(w for _, w in skipped).items())
        raise MidiFileError(
            f"--vae: no file under {folder.root} gives a two-bar melody on a beat grid "
            f"({len(folder.pieces)} files: {counts})"
        )
    train = [m for rel, ms in by_file if rel not in held_ids for m in ms]
    held = [m for rel, ms in by_file if rel in held_ids for m in ms]
    n_held = sum(1 for rel, _ in by_file if rel in held_ids)
    note = ""
    if not train or not held:  # one file, or every usable file on one side: hold out the last melodies
        every = [m for _, ms in by_file for m in ms]
        cut = max(1, min(len(every) - 1, round(len(every) * (1 - HELD_OUT_SHARE))))
        train, held = (every[:cut], every[cut:]) if len(every) > 1 else (every, every)
        note = f"; the files could not be split, so the last {len(held)} melodies are held out"
        n_held = 0
    return Melodies(_array(train), _array(held), len(by_file), len(by_file) - n_held, n_held, skipped, note)


def _array(rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, dtype=np.uint8).reshape(-1, melody.STEPS)


def corpus_melodies(corpus: str, split: str, limit: int) -> tuple[np.ndarray | None, str]:
    """The corpus's melodies of `split` (at most `limit`, a fixed sample), or None and why."""
    pieces = Path(corpus).expanduser() / f"{split}_pieces.npz"
    if not corpus or not pieces.exists():
        return (
            None,
            f"no prepared corpus at {corpus or '(learn.corpus unset)'}: the corpus figures are skipped",
        )
    rows = melodies(load_pieces(pieces))
    if len(rows) > limit:
        rows = rows[np.sort(np.random.default_rng(0).choice(len(rows), limit, replace=False))]
    return rows, f"{len(rows)} melodies of the corpus's {split} split ({corpus})"


def vae_path(name: str, folder_setting: str) -> Path:
    """NAME-vae.pt, checked before anything is read or learned: a name it can have, and
    not a model other than a morph VAE (a continuation model learned as NAME-vae) that
    --vae would overwrite. ConfigError (exit 2) otherwise."""
    try:
        out = learned_path(f"{name}-vae", folder_setting)
    except ConfigError:  # the name itself was checked first: NAME-vae is too long
        raise ConfigError(
            f"--name {name!r}: at most {SUFFIXED} characters with --vae (it also writes NAME-vae.pt)"
        ) from None
    if out.exists():
        try:
            read_weights(out, "cpu", archs=("vae",))
        except CheckpointError as exc:
            raise ConfigError(
                f"--vae would overwrite {out}, which is not a morph VAE ({exc}); "
                "choose another --name or move it"
            ) from None
    return out


def learn_vae(
    config: Config,
    opts: Any,
    data: Melodies,
    folder_setting: str,
    report: Callable[[dict], None],
    stop: Callable[[], bool],
) -> dict[str, Any]:
    """Learn, write NAME-vae.pt and NAME-vae.md (nothing when nothing beat the base: an
    earlier NAME-vae stays); the "vae" part of the done record."""
    lc = config.learn
    out = learned_path(f"{opts.name}-vae", folder_setting)
    base = config.model.morph or "vae"
    base_path = find_checkpoint(base, folder_setting)
    device = choose_device(config.model.device)
    model, info = load_checkpoint(base_path, device, archs=("vae",))
    shipped_args = info["train_info"].get("args", {})  # the base's own training: its beta and free bits
    beta, free_nats = float(shipped_args.get("beta", 0.2)), float(shipped_args.get("free_bits", 48.0)) * LN2
    held = data.held[:EVAL_MELODIES]
    corpus, corpus_note = corpus_melodies(lc.corpus, "test", EVAL_MELODIES)
    report({"stage": "evaluating", "model": "vae base"})
    before = _figures(model, held, corpus)

    replay, replayed = None, 0
    if opts.replay:
        replay, _ = corpus_melodies(opts.replay, "train", NO_LIMIT)
        if replay is not None and len(replay) and lc.replay_share > 0:
            replayed = min(lc.batch_size - 1, max(1, round(lc.batch_size * lc.replay_share)))
    rng = torch.Generator().manual_seed(opts.seed)
    train_t = torch.from_numpy(data.train.astype(np.int64))
    replay_t = torch.from_numpy(replay.astype(np.int64)) if replayed else None

    def batch() -> torch.Tensor:
        rows = train_t[torch.randint(0, len(train_t), (lc.batch_size - replayed,), generator=rng)]
        if replay_t is not None:
            rows = torch.cat([rows, replay_t[torch.randint(0, len(replay_t), (replayed,), generator=rng)]])
        return transpose_batch(rows, rng).to(device)

    minutes = lc.minutes if opts.minutes is None else opts.minutes
    steps = opts.steps or NO_LIMIT
    lr = lc.lr * LR_SHARE
    schedule = Schedule(lr, lr / 10, warmup=min(20, max(steps // 10, 1)), steps=steps, minutes=minutes)
    best_weights = copy.deepcopy(model.state_dict())
    best_step = [0]
    state = LoopState(best=before["held_out"]["elbo_nats"])
    started = time.monotonic()

    def learning(state: LoopState, value: float | None) -> dict[str, Any]:
        return {**progress(state, steps, minutes, started, "heldout_elbo_nats", value), "model": "vae"}

    def held_elbo() -> float:
        return float(evaluate(model, held)["elbo_nats"])  # type: ignore[arg-type]

    def on_eval(state: LoopState, value: float | None, improved: bool) -> None:
        if improved:
            best_weights.update({k: v.detach().clone() for k, v in model.state_dict().items()})
            best_step[0] = state.step
        report(learning(state, value))

    loop = VAELoop(
        model,
        torch.optim.Adam(model.parameters(), lr=lr),
        schedule,
        batch,
        lambda step: beta,
        free_nats,
        held_elbo,
        on_eval,
        eval_every=lc.eval_every,
        log_every=max(1, min(lc.eval_every, 5)),
        patience=lc.patience * PATIENCE_TIMES,
        anchor=Anchor(model, lc.l2sp * melody.STEPS) if lc.l2sp > 0 else None,
        on_log=lambda state, record: report(learning(state, None)),
        stop=stop,
    )
    loop.run(state)
    signalled = state.stopped_by == "signal"
    if best_step[0] == 0:  # the base's weights: writing them would only lose an earlier NAME-vae
        return {
            "path": None,
            "card": None,
            "unchanged": True,
            "steps": state.step,
            "best_step": 0,
            "stopped_by": state.stopped_by,
            "before": before,
            "after": None,
        }
    model.load_state_dict(best_weights)
    model.eval()
    learned_minutes = round((time.monotonic() - started) / 60, 2)
    # The loss sums a melody's steps, so the pull is learn.l2sp times their number: as strong
    # against each step's loss as the continuation model's against each event's.
    against = forgetting(
        lc.l2sp,
        f"the melodies of {opts.replay}" if replayed else None,
        lc.replay_share,
        f" per step, x{melody.STEPS}",
    )
    facts = {
        "name": f"{opts.name}-vae",
        "base": base,
        "base_path": str(base_path),
        "path": str(out),
        "folder": str(Path(opts.folder).expanduser()),
        "model_folder": folder_setting,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "data": data,
        "steps": state.step,
        "best_step": best_step[0],
        "minutes": learned_minutes,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch_size": lc.batch_size,
        "lr": lr,
        "stopped_by": stopped_by(state.stopped_by, "held-out ELBO"),
        "forgetting": against,
        "before": before,
        "after": {"held_out": None, "corpus_test": None},
        "corpus_note": corpus_note + "; the figures after were not measured: the learn was stopped first",
    }
    card = out.with_suffix(".md")
    try:  # as the continuation model's (learn/files.py): the weights and a card together, then its figures
        save_checkpoint(
            staged(out),
            model,
            {
                "learned_from": str(Path(opts.folder).expanduser()),
                "base": str(base_path),
                "steps": state.step,
                "best_step": best_step[0],
                "minutes": learned_minutes,
                "train_melodies": len(data.train),
                "heldout_melodies": len(held),
                "heldout_elbo_nats": state.best,
                "base_heldout_elbo_nats": before["held_out"]["elbo_nats"],
                "forgetting": against,
                "device": str(device),
                "args": {"beta": beta, "free_bits": free_nats / LN2, "batch_size": lc.batch_size, "lr": lr},
            },
        )
        write_vae_card(staged(card), facts)
        commit([out, card], [])
        report({"stage": "saved", "path": str(out), "steps": state.step, "best_step": best_step[0]})
        report({"stage": "evaluating", "model": f"{opts.name}-vae"})
        after = _figures(model, held, None if signalled else corpus)
        facts.update(
            after=after,
            corpus_note=corpus_note
            + ("; stopped by a signal: the corpus after was skipped" if signalled else ""),
        )
        write_vae_card(staged(card), facts)
        commit([card], [])
    finally:
        discard([out, card])
    return {
        "path": str(out),
        "card": str(card),
        "files": data.files,
        "train_melodies": len(data.train),
        "heldout_melodies": len(held),
        "skipped": data.skipped_counts(),
        "steps": state.step,
        "best_step": best_step[0],
        "minutes": learned_minutes,
        "stopped_by": state.stopped_by,
        "forgetting": against,
        "before": before,
        "after": after,
    }


def _figures(model: torch.nn.Module, held: np.ndarray, corpus: np.ndarray | None) -> dict[str, Any]:
    return {
        "held_out": evaluate(model, held),  # type: ignore[arg-type]
        "corpus_test": evaluate(model, corpus) if corpus is not None else None,
    }  # type: ignore[arg-type]
