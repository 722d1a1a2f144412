"""The training loop of the continuation models, shared by scripts/train_continuation.py
and `liveai learn`: the learning-rate schedule, one step (with an optional pull toward
the base weights), evaluation every so often, the best score kept, and the stops (steps,
minutes, patience, a signal).

The loss stays on the device, summed there, and is read only when it is reported (no
host sync per step under CUDA). Under torchrun every stop is agreed by all the ranks
(`agreed`): a rank whose clock ran out, whose patience ended or that got a signal must
not leave the others waiting in DDP's next all-reduce."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

LN2 = math.log(2.0)
NO_LIMIT = 10**9  # steps when only the clock stops a learning
# The reasons to stop, weakest first: the ranks agree on the strongest any of them has.
REASONS = ("", "steps", "minutes", "patience", "signal")


def grouped() -> bool:
    """A process group is running (torchrun): stops must be agreed."""
    return dist.is_available() and dist.is_initialized()


def agreed(reason: str, device: torch.device) -> str:
    """The strongest stop reason of all the ranks ("" = go on), the same on every rank;
    without a process group, `reason` itself. Every rank must call it at the same step."""
    if not grouped():
        return reason
    code = torch.tensor([REASONS.index(reason)], dtype=torch.int64, device=device)
    dist.all_reduce(code, op=dist.ReduceOp.MAX)
    return REASONS[int(code.item())]


@dataclass(frozen=True)
class Schedule:
    """Linear warm-up, then a cosine from `lr` down to `min_lr` over `steps`, or over
    `minutes` when that comes first (a learn stopped by the clock ends its cosine too)."""

    lr: float
    min_lr: float
    warmup: int
    steps: int
    minutes: float = 0.0

    def lr_at(self, step: int, elapsed_s: float = 0.0) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        progress = (step - self.warmup) / max(self.steps - self.warmup, 1)
        if self.minutes > 0:
            progress = max(progress, elapsed_s / (self.minutes * 60.0))
        progress = min(progress, 1.0)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * progress))


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases and norms)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.99),
    )


def descend(
    optimizer: torch.optim.Optimizer, model: nn.Module, loss: torch.Tensor, lr: float, grad_clip: float
) -> None:
    """One optimizer step down `loss` at `lr`, the gradients clipped to `grad_clip` (0: not)."""
    for g in optimizer.param_groups:
        g["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()


class Anchor:
    """L2-SP: `strength` / 2 * the squared distance of the weights from where they began
    (the base model's), so a fine-tune keeps what the base learned where the player's
    music does not ask for a change."""

    def __init__(self, model: nn.Module, strength: float) -> None:
        self.strength = strength
        self.weights = [p.detach().clone() for p in model.parameters()]

    def penalty(self, model: nn.Module) -> torch.Tensor:
        total = sum(((p - w) ** 2).sum() for p, w in zip(model.parameters(), self.weights))
        return 0.5 * self.strength * total  # type: ignore[return-value]


@dataclass
class LoopState:
    step: int = 0
    tokens: int = 0  # target tokens seen by this process
    best: float = float("inf")
    since_best: int = 0  # evaluations without an improvement
    started: float = field(default_factory=time.monotonic)
    elapsed_prior: float = 0.0  # seconds of earlier runs (a resumed training)
    stopped_by: str = ""  # "steps", "minutes", "patience" or "signal"

    @property
    def elapsed_s(self) -> float:
        return self.elapsed_prior + time.monotonic() - self.started


def progress(
    state: LoopState, steps: int, minutes: float, started: float, score: str, value: float | None
) -> dict[str, Any]:
    """How far a learning is, for its reports: the step, and the share done by steps or by
    the clock (whichever is further), with the time left at this pace; its `score` now
    (None between evaluations) and the best so far (`best_<score>`)."""
    elapsed = time.monotonic() - started
    fractions = [state.step / steps] if steps < NO_LIMIT else []
    if minutes > 0:
        fractions.append(elapsed / (minutes * 60))
    fraction = min(max(fractions, default=0.0), 1.0)
    eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
    return {
        "stage": "learning",
        "step": state.step,
        "steps": steps if steps < NO_LIMIT else None,
        "minutes": round(elapsed / 60, 3),
        "fraction": round(fraction, 4),
        "eta_s": round(eta, 1) if eta is not None else None,
        score: value,
        f"best_{score}": None if state.best == float("inf") else state.best,
    }


def stopped_by(reason: str, score: str) -> str:
    """Why a learning stopped, in words for its card; `score` names what stopped improving."""
    return {
        "steps": "the steps asked",
        "minutes": "the minutes asked",
        "patience": f"the {score} no longer improving",
        "signal": "a signal (Ctrl-C or SIGTERM)",
    }.get(reason, reason)


def forgetting(l2sp: float, replayed: str | None, share: float, strength: str = "") -> str:
    """What keeps a learning from forgetting, in words for its card: the pull toward the
    base weights (`strength` says more of it) and the share of each batch replayed."""
    parts = [f"L2-SP toward the base weights (strength {l2sp}{strength})"] if l2sp > 0 else []
    if replayed is not None:
        parts.append(f"{share:.0%} of each batch replayed from {replayed}")
    return " and ".join(parts) or "none (learn.l2sp = 0, no --replay)"


@dataclass
class Loop:
    """What to train and how: `batch()` gives (B, T + 1) tokens, `evaluate()` a score to
    lower (bits/event; None on processes that do not evaluate), `on_eval(state, value,
    improved)` keeps checkpoints, `on_log(state, record)` and `on_step(state)` report.
    `stop()` is polled every step (a signal); under a process group the stops are agreed
    every `log_every` steps (a stop by signal or clock waits for the next agreement)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    batch: Callable[[], np.ndarray]
    evaluate: Callable[[], float | None]
    on_eval: Callable[[LoopState, float | None, bool], None]
    device: torch.device
    eval_every: int = 250
    log_every: int = 25
    patience: int = 0  # 0: never stop for want of improvement
    grad_clip: float = 1.0
    anchor: Anchor | None = None
    on_log: Callable[[LoopState, dict[str, float]], None] = lambda state, record: None
    on_step: Callable[[LoopState], None] = lambda state: None
    stop: Callable[[], bool] = lambda: False

    def step(self, state: LoopState) -> torch.Tensor:
        """One step; its loss, detached, left on the device."""
        lr = self.schedule.lr_at(state.step, state.elapsed_s - state.elapsed_prior)
        xy = torch.from_numpy(self.batch()).to(self.device)
        logits = self.model(xy[:, :-1])  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), xy[:, 1:].reshape(-1))
        total = loss + self.anchor.penalty(self.model) if self.anchor is not None else loss
        descend(self.optimizer, self.model, total, lr, self.grad_clip)
        state.step += 1
        state.tokens += xy[:, 1:].numel()
        return loss.detach()

    def run(self, state: LoopState | None = None) -> LoopState:
        """Train until a stop; evaluate every `eval_every` steps and at the end (not
        after a signal: it is waiting)."""
        state = state or LoopState()
        loss_sum = torch.zeros((), device=self.device)
        n_acc, t_log = 0, time.monotonic()
        self.model.train()
        while not state.stopped_by:
            loss_sum += self.step(state)
            n_acc += 1
            self.on_step(state)
            state.stopped_by = self.stopping(state)
            if state.stopped_by == "signal":
                break
            if state.step % self.log_every == 0:
                loss = float(loss_sum) / n_acc  # the one read of the loss: a host sync per report
                dt = max(time.monotonic() - t_log, 1e-9)
                self.on_log(
                    state,
                    {
                        "step": state.step,
                        "train_loss": round(loss, 4),
                        "train_bits_per_event": round(loss / LN2, 4),
                        "lr": self.schedule.lr_at(state.step, state.elapsed_s - state.elapsed_prior),
                        "steps_per_s": round(n_acc / dt, 3),
                        "wall_time_s": round(state.elapsed_s, 1),
                    },
                )
                loss_sum.zero_()
                n_acc, t_log = 0, time.monotonic()
            if state.step % self.eval_every == 0 or state.stopped_by:
                self.evaluation(state)
        return state

    def stopping(self, state: LoopState) -> str:
        """Why to stop after this step ("" = go on), agreed by all the ranks: every step
        alone, every `log_every` steps under a process group (the steps asked are the
        same on every rank and need no agreement)."""
        s = self.schedule
        reason = (
            "signal"
            if self.stop()
            else "steps"
            if state.step >= s.steps
            else "minutes"
            if s.minutes > 0 and state.elapsed_s - state.elapsed_prior >= s.minutes * 60
            else ""
        )
        if not grouped():
            return reason
        if state.step % self.log_every == 0:
            return agreed(reason, self.device)
        return "steps" if state.step >= s.steps else ""

    def evaluation(self, state: LoopState) -> None:
        value = self.evaluate()
        improved = value is not None and value < state.best
        if value is not None:
            state.best = min(state.best, value)
            state.since_best = 0 if improved else state.since_best + 1
        self.on_eval(state, value, improved)
        # only the ranks that evaluate know; every rank evaluates at this step, so all agree
        patience = "patience" if self.patience and state.since_best >= self.patience else ""
        patience = agreed(patience, self.device)
        if patience and not state.stopped_by:
            state.stopped_by = patience
        self.model.train()
