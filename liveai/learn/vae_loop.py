"""The training of the morph VAE, shared by scripts/train_vae.py and `liveai learn --vae`:
its loss (reconstruction plus beta times the KL above the free bits, as MusicVAE's
2-bar melody model), the transposition of each training melody, the figures of its
card (`evaluate`), and the loop: one step (with an optional pull toward the base
weights), evaluation every so often, the best kept, and the stops (steps, minutes,
patience, a signal). The schedule and the state are the continuation loop's."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models import melody
from ..models.checkpoint import unwrap
from ..models.vae import MelodyVAE, kl_per_dim
from .loop import Anchor, LoopState, Schedule, descend

LN2 = math.log(2.0)


def transpose_batch(batch: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Each melody moved by its own -6..+5 semitones, unless a note would leave 0-127."""
    shift = torch.randint(-6, 6, (batch.shape[0], 1), generator=rng)
    notes = batch < melody.N_PITCHES
    moved = torch.where(notes, batch + shift, batch)
    ok = ((moved >= 0) & (moved < melody.N_PITCHES) | ~notes).all(dim=1, keepdim=True)
    return torch.where(ok, moved, batch)


def losses(model: nn.Module, batch: torch.Tensor, free_nats: float) -> dict[str, torch.Tensor]:
    logits, mu, sigma = model(batch)
    recon = F.cross_entropy(logits.transpose(1, 2), batch, reduction="none").sum(dim=1)  # (B,) nats
    kl = kl_per_dim(mu, sigma).sum(dim=1)  # (B,)
    return {"recon": recon.mean(), "kl": kl.mean(), "kl_cost": torch.clamp(kl - free_nats, min=0.0).mean()}


def beta_at(step: int, beta: float, beta_steps: int) -> float:
    """The KL weight, rising linearly to `beta` over `beta_steps` (0: at once)."""
    return beta * min(step / beta_steps, 1.0) if beta_steps > 0 else beta


@torch.no_grad()
def evaluate(
    model: MelodyVAE, data: np.ndarray, batch_size: int = 512, per_dim: bool = False
) -> dict[str, Any]:
    """Reconstruction from mu, teacher forced and greedy: accuracy per step and on the
    steps where a note starts; KL per dimension (nats, mean over melodies; each
    dimension's too with `per_dim`); the ELBO also in bits per step."""
    model.eval()
    device = next(model.parameters()).device
    tf_right = greedy_right = notes_tf = notes_greedy = n_notes = n_steps = 0
    recon = kl_sum = 0.0
    kl_dims = torch.zeros(model.config.latent)
    for i in range(0, len(data), batch_size):
        x = torch.from_numpy(data[i : i + batch_size].astype(np.int64)).to(device)
        mu, sigma = model.encode(x)
        logits = model.decode_logits(mu, x)
        recon += float(F.cross_entropy(logits.transpose(1, 2), x, reduction="sum"))
        kl = kl_per_dim(mu, sigma)
        kl_dims += kl.sum(dim=0).cpu()
        kl_sum += float(kl.sum())
        tf = logits.argmax(-1) == x
        greedy = model.decode(mu) == x
        is_note = x < melody.N_PITCHES
        tf_right += int(tf.sum())
        greedy_right += int(greedy.sum())
        notes_tf += int((tf & is_note).sum())
        notes_greedy += int((greedy & is_note).sum())
        n_notes += int(is_note.sum())
        n_steps += x.numel()
    n = len(data)
    kl_dims /= n
    return {
        "recon_nats": round(recon / n, 4),
        "kl_nats": round(kl_sum / n, 4),
        "elbo_nats": round((recon + kl_sum) / n, 4),
        "elbo_bits_per_step": round((recon + kl_sum) / n / model.config.steps / LN2, 4),
        "step_accuracy_teacher_forced": round(tf_right / n_steps, 4),
        "note_accuracy_teacher_forced": round(notes_tf / max(n_notes, 1), 4),
        "step_accuracy_greedy": round(greedy_right / n_steps, 4),
        "note_accuracy_greedy": round(notes_greedy / max(n_notes, 1), 4),
        "kl_per_dim_mean": round(float(kl_dims.mean()), 4),
        "dims_in_use": int((kl_dims > 0.05).sum()),  # MusicVAE's "active units" rule of thumb
        **({"kl_per_dim": [round(float(k), 4) for k in kl_dims]} if per_dim else {}),
    }


@dataclass
class VAELoop:
    """What to train and how: `batch()` gives (B, steps) melodies on the device, `beta(step)`
    the KL weight, `evaluate()` a score to lower (the ELBO; None on processes that do not
    evaluate), `on_eval(state, value, improved)` keeps checkpoints, `on_log(state,
    record)` and `on_step(state)` report. `stop()` is polled every step (a signal)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    batch: Callable[[], torch.Tensor]
    beta: Callable[[int], float]
    free_nats: float
    evaluate: Callable[[], float | None]
    on_eval: Callable[[LoopState, float | None, bool], None]
    eval_every: int = 500
    log_every: int = 50
    patience: int = 0  # 0: never stop for want of improvement
    grad_clip: float = 1.0
    anchor: Anchor | None = None
    on_log: Callable[[LoopState, dict[str, float]], None] = lambda state, record: None
    on_step: Callable[[LoopState], None] = lambda state: None
    stop: Callable[[], bool] = lambda: False

    def step(self, state: LoopState) -> torch.Tensor:
        """One step; (recon, kl) nats on the device (read back only when logged)."""
        lr = self.schedule.lr_at(state.step, state.elapsed_s - state.elapsed_prior)
        batch = self.batch()
        self.model.train()
        parts = losses(self.model, batch, self.free_nats)
        loss = parts["recon"] + self.beta(state.step) * parts["kl_cost"]
        if self.anchor is not None:
            loss = loss + self.anchor.penalty(unwrap(self.model))
        descend(self.optimizer, self.model, loss, lr, self.grad_clip)
        state.step += 1
        state.tokens += batch.numel()
        return torch.stack([parts["recon"].detach(), parts["kl"].detach()])

    def run(self, state: LoopState | None = None) -> LoopState:
        """Train until a stop; evaluate every `eval_every` steps and at the end."""
        state = state or LoopState()
        s = self.schedule
        acc: torch.Tensor | None = None
        n_acc, t_log = 0, time.monotonic()
        while not state.stopped_by:
            if self.stop():
                state.stopped_by = "signal"  # the best evaluated so far is kept
                break
            parts = self.step(state)
            acc = parts if acc is None else acc + parts
            n_acc += 1
            self.on_step(state)
            if state.step >= s.steps:
                state.stopped_by = "steps"
            elif s.minutes > 0 and state.elapsed_s - state.elapsed_prior >= s.minutes * 60:
                state.stopped_by = "minutes"
            if state.step % self.log_every == 0 and acc is not None:
                recon, kl = (acc / n_acc).tolist()
                dt = max(time.monotonic() - t_log, 1e-9)
                self.on_log(
                    state,
                    {
                        "step": state.step,
                        "train_recon_nats": round(recon, 4),
                        "train_kl_nats": round(kl, 4),
                        "beta": round(self.beta(state.step), 4),
                        "lr": s.lr_at(state.step, state.elapsed_s - state.elapsed_prior),
                        "steps_per_s": round(n_acc / dt, 3),
                        "wall_time_s": round(state.elapsed_s, 1),
                    },
                )
                acc, n_acc, t_log = None, 0, time.monotonic()
            if state.step % self.eval_every == 0 or state.stopped_by:
                self.evaluation(state)
        return state

    def evaluation(self, state: LoopState) -> None:
        value = self.evaluate()
        improved = value is not None and value < state.best
        if value is not None:
            state.best = min(state.best, value)
            state.since_best = 0 if improved else state.since_best + 1
        self.on_eval(state, value, improved)
        if self.patience and state.since_best >= self.patience and not state.stopped_by:
            state.stopped_by = "patience"
