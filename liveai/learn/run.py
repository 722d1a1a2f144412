"""`liveai learn FOLDER --name NAME`: fine-tune a continuation model on a player's MIDI
files, then write NAME.pt and its card NAME.md into the model folder.

Read the folder (bad files skipped and counted), split it by file three ways, score the
base model, train with the shipped models' loop and windows, pulled toward the base
weights (L2-SP) and, given a prepared corpus, replaying it; keep the best evaluation on
the validation files; stop when it stops improving, at the minutes or steps asked, or on
SIGINT/SIGTERM; score again on the test files, which chose nothing. When nothing beat
the base, nothing is written (an earlier model of the name stays as it was).
"""

from __future__ import annotations

import copy
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from ..config import Config
from ..errors import ConfigError
from ..models.checkpoint import load_checkpoint, save_checkpoint
from ..models.shipped import check_model, learned_path
from ..runtime.device import choose_device
from . import measure
from .card import piano_roll, write_card
from .files import commit, discard, learned_on, staged
from .folder import read_folder
from .loop import (
    NO_LIMIT,
    Anchor,
    Loop,
    LoopState,
    Schedule,
    forgetting,
    make_optimizer,
    progress,
    stopped_by,
)
from .mix import Mix
from .progress import Progress
from .split import split_pieces
from .vae import learn_vae, read_melodies, vae_path

EVAL_EVENTS = 20_000  # validation, test and corpus events scored per evaluation, at most
PROGRESS_S = 2.0  # --progress json: a "learning" line at least this often (a step may take longer)
SMALL_NOTES, SMALL_FILES = 500, 3  # fewer, and the learning set is said to be small
STOPPING = "stopping after this step, keeping the best (Ctrl-C again quits now)"
SKIPPED = (
    "; stopped by a signal, so only the bits/event of the player's files after were measured "
    "(the rest skipped)"
)


@dataclass
class LearnOptions:
    folder: str
    name: str
    model: str | None = None  # the base: a shipped or learned name, or a path (default model.continuation)
    minutes: float | None = None  # default learn.minutes
    steps: int | None = None
    threads: int | None = None  # default learn.threads
    progress: str = "bar"
    model_folder: str | None = None  # default model.folder
    replay: str | None = None
    vae: bool = False
    seed: int = 0
    eval_events: int = EVAL_EVENTS


class Stop:
    """SIGINT and SIGTERM end the learning at the next step, not the process."""

    def __init__(self) -> None:
        self.asked = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> Stop:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self.ask)
        return self

    def ask(self, signum: int, frame: object) -> None:
        self.asked = True
        # a second Ctrl-C is Python's own: it ends the process (cli.main: exit 130)
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)  # first: a Ctrl-C while saying so quits
            say(STOPPING)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def learn(config: Config, opts: LearnOptions) -> dict[str, Any]:
    """The "done" record: paths, figures before and after."""
    lc = config.learn
    folder_setting = opts.model_folder if opts.model_folder is not None else config.model.folder
    out = learned_path(opts.name, folder_setting)
    if opts.vae:
        # a bad NAME-vae refused now, not after the continuation model learned
        vae_path(opts.name, folder_setting)
    base = opts.model or config.model.continuation or "gru"
    base_path = check_model(base, folder_setting)
    report = Progress(opts.progress)
    t0 = time.monotonic()
    if (when := learned_on(out)) is not None:
        say(f"{opts.name} exists (learned {when}): this learn replaces it if it learns anything")

    def reading(i: int, n: int) -> None:
        if opts.progress == "json" and (i % 100 == 0 or i == n):
            report({"stage": "reading", "files": i, "of": n})

    with Stop() as stop:
        folder = read_folder(opts.folder, lc.max_file_mb, lc.max_memory_mb, reading)
        small = _small(len(folder.pieces), folder.notes)
        if small:
            say(f"warning: {small}")
        split = split_pieces(folder.pieces)
        # refused before learning
        melodies = read_melodies(folder, {p.rel_id for p in split.held_out}) if opts.vae else None
        threads = opts.threads or lc.threads
        torch.set_num_threads(threads)
        torch.manual_seed(opts.seed)
        device = choose_device(config.model.device)
        model, info = load_checkpoint(base_path, device)
        arch = info["config"]["arch"]
        test = measure.piece_tokens(split.test, opts.eval_events)  # the card's: chooses nothing
        # the checkpoint's and the stop's
        validation = measure.piece_tokens(split.validation, opts.eval_events)
        corpus_dir = opts.replay or lc.corpus
        corpus, corpus_note = measure.corpus_test(corpus_dir, opts.eval_events)
        primes = measure.phrases(split.test)
        report({"stage": "evaluating", "model": "base", "minutes": _minutes(t0)})
        before = measure.figures(model, test, validation, corpus, primes, opts.seed)
        base_roll = before.pop("_first")

        minutes = lc.minutes if opts.minutes is None else opts.minutes
        steps = opts.steps or NO_LIMIT
        schedule = Schedule(
            lc.lr, lc.lr / 10, warmup=min(20, max(steps // 10, 1)), steps=steps, minutes=minutes
        )
        anchor = Anchor(model, lc.l2sp) if lc.l2sp > 0 else None
        replay = Path(opts.replay) if opts.replay else None
        if replay is not None and not (replay / "train.npy").exists():
            raise ConfigError(f"--replay {opts.replay}: no prepared corpus there (train.npy)")
        mix = Mix(split.train, lc.seq_len, lc.batch_size, opts.seed, replay, lc.replay_share)
        best_weights = copy.deepcopy(model.state_dict())
        best_step = [0]
        base_bits = before["validation_bits"]
        state = LoopState(best=base_bits if base_bits is not None else float("inf"))
        started = time.monotonic()

        def learning(state: LoopState, value: float | None) -> dict[str, Any]:
            return {
                **progress(state, steps, minutes, started, "validation_bits", value),
                "best_step": best_step[0],
            }

        def on_eval(state: LoopState, value: float | None, improved: bool) -> None:
            if improved:
                best_weights.update({k: v.detach().clone() for k, v in model.state_dict().items()})
                best_step[0] = state.step
            report(learning(state, value))

        def on_log(state: LoopState, record: dict[str, float]) -> None:
            if opts.progress != "json":
                report(learning(state, None))

        said = [time.monotonic()]

        def on_step(state: LoopState) -> None:  # a parent hears of each step within PROGRESS_S
            if opts.progress == "json" and (state.step == 1 or time.monotonic() - said[0] >= PROGRESS_S):
                said[0] = time.monotonic()
                report(learning(state, None))

        loop = Loop(
            model,
            make_optimizer(model, lc.lr, 0.0),
            schedule,
            mix.batch,
            lambda: measure.bits(model, validation),
            on_eval,
            device,
            eval_every=lc.eval_every,
            log_every=max(1, min(lc.eval_every, 5)),
            patience=lc.patience,
            anchor=anchor,
            on_log=on_log,
            on_step=on_step,
            stop=lambda: stop.asked,
        )
        if stop.asked:  # before the first step (reading, the base's figures): nothing to learn from
            state.stopped_by = "signal"
        else:
            loop.run(state)
        if best_step[0] == 0:  # the base's weights: writing them would only lose an earlier NAME
            why = (
                "stopped before anything beat"
                if state.stopped_by == "signal"
                else "on the validation files, nothing beat"
            )
            say(f"nothing learned yet ({why} {base}); {opts.name} unchanged")
            done = {
                "stage": "done",
                "path": None,
                "card": None,
                "unchanged": True,
                "before": before,
                "after": None,
                "steps": state.step,
                "best_step": 0,
                "stopped_by": state.stopped_by,
            }
            report(done)
            return done
        model.load_state_dict(best_weights)
        model.eval()
        # the weights first: a stop (the server gives it seconds) must not lose them to the figures
        learned_minutes = round((time.monotonic() - started) / 60, 2)
        best_bits = base_bits if state.best == float("inf") else state.best
        train_info = {
            "learned_from": str(Path(opts.folder).expanduser()),
            "base": str(base_path),
            "steps": state.step,
            "best_step": best_step[0],
            "minutes": learned_minutes,
            "validation_bits_per_event": best_bits,
            "base_validation_bits_per_event": base_bits,
            "files": len(folder.pieces),
            "notes": folder.notes,
            "l2sp": lc.l2sp,
            "replay": str(replay) if replay else None,
            "device": str(device),
        }
        card, png = out.with_suffix(".md"), out.with_suffix(".png")
        facts = {
            "name": opts.name,
            "base": base,
            "arch": arch,
            "folder": str(Path(opts.folder).expanduser()),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "files": len(folder.pieces),
            "notes": folder.notes,
            "train_files": len(split.train),
            "validation_files": _names(split.validation),
            "test_files": _names(split.test),
            "split_note": split.note,
            "shared": split.shared,
            "skipped_total": len(folder.skipped),
            "skipped_text": folder.describe_skipped(),
            "small": small,
            "steps": state.step,
            "batch_size": lc.batch_size,
            "seq_len": lc.seq_len,
            "minutes": learned_minutes,
            "device": str(device),
            "threads": threads,
            "stopped_by": stopped_by(state.stopped_by, "validation score"),
            "best_step": best_step[0],
            "forgetting": forgetting(lc.l2sp, None if replay is None else str(replay), lc.replay_share),
            "before": before,
            "after": dict.fromkeys(before),
            "test_events": _events(test),
            "validation_events": _events(validation),
            "corpus_events": sum(_events(ps) for ps in corpus.values()),
            "corpus": corpus_note,
            "roll": "",
            "path": str(out),
            "roll_note": "Not measured: the learn was stopped while measuring the figures after.",
        }
        try:  # the weights and a card without the figures after, together: a stop soon must not lose them
            save_checkpoint(staged(out), model, train_info)
            write_card(staged(card), facts)
            commit([out, card], [png])
            report({"stage": "saved", "path": str(out), "steps": state.step, "best_step": best_step[0]})
            stopped = state.stopped_by == "signal" or stop.asked
            report({"stage": "evaluating", "model": opts.name, "minutes": _minutes(t0)})
            after = measure.figures(model, test, validation, corpus, primes, opts.seed, quick=stopped)
            learned_roll = after.pop("_first")
            facts.update(after=after, corpus=corpus_note + SKIPPED * stopped, roll_note="")
            if stopped:
                facts["roll_note"] = "Stopped by a signal: the continuations after were skipped."
            elif primes:
                facts["roll_note"] = piano_roll(
                    staged(png),
                    primes[0],
                    base_roll,
                    learned_roll,
                    f"{opts.name}: a held-out phrase continued",
                )
                facts["roll"] = "" if facts["roll_note"] else png.name
            write_card(staged(card), facts)
            commit([card, png] if facts["roll"] else [card], [] if facts["roll"] else [png])
        finally:
            discard([out, card, png])
        vae = None
        if melodies is not None:  # the morph VAE next (learn/vae.py), unless a signal ended the learn
            vae = (
                {"skipped": "stopped by a signal before the VAE learned"}
                if stopped
                else learn_vae(config, opts, melodies, folder_setting, report, lambda: stop.asked)
            )
            if vae.get("unchanged"):
                why = (
                    "stopped before anything beat"
                    if vae["stopped_by"] == "signal"
                    else "on the held-out melodies, nothing beat"
                )
                say(f"nothing learned yet ({why} the base VAE); {opts.name}-vae unchanged")
    done = {
        "stage": "done",
        "path": str(out),
        "card": str(card),
        "before": before,
        "after": after,
        "steps": state.step,
        "best_step": best_step[0],
        "minutes": learned_minutes,
        "stopped_by": state.stopped_by,
        "files": len(folder.pieces),
        "heldout_files": len(split.held_out),
        "validation_files": len(split.validation),
        "test_files": len(split.test),
        "shared": split.shared,
        "notes": folder.notes,
        "small": small,
        "skipped": folder.skipped_counts(),
        "forgetting": facts["forgetting"],
        **({"vae": vae} if vae else {}),
    }
    report(done)
    return done


def say(line: str) -> None:
    """One line for the person at the terminal (stderr: stdout may carry JSON)."""
    print(f"liveai: {line}", file=sys.stderr, flush=True)


def _small(files: int, notes: int) -> str:
    if files >= SMALL_FILES and notes >= SMALL_NOTES:
        return ""
    return (
        f"a small learning set ({files} files, {notes} notes; {SMALL_FILES}+ files and {SMALL_NOTES}+ notes "
        "are suggested): the model may learn these pieces by heart, and its figures are uncertain"
    )


def _names(pieces: list) -> list[str]:
    return [p.rel_id for p in pieces]


def _events(pieces: list) -> int:
    return sum(len(p) - 1 for p in pieces)


def _minutes(t0: float) -> float:
    return round((time.monotonic() - t0) / 60, 3)
