"""One evaluation for every scorer (neural checkpoint, unigram, n-gram).

Bits per event: each piece begins with START; every later token is predicted from
all earlier tokens of its piece (for the Transformer: through its sliding window,
exactly as live stepping would see it) and -log2 P is averaged over those tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..models import codec
from ..models.ngram import KneserNeyModel, UnigramModel
from .midi import encode_midi
from .shards import TokenSplit, load_split

Scorer = nn.Module | UnigramModel | KneserNeyModel
LN2 = float(np.log(2.0))


@dataclass(frozen=True, slots=True)
class EvalResult:
    model: str
    events: int
    bits_per_event: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def scorer_name(scorer: Scorer) -> str:
    if isinstance(scorer, nn.Module):
        return str(getattr(scorer, "arch", type(scorer).__name__))
    return scorer.name


@torch.inference_mode()
def model_bits(
    model: nn.Module,
    pieces: Sequence[np.ndarray],
    batch_size: int = 16,
    chunk: int = 256,
    progress: bool = False,
) -> tuple[float, int]:
    """(total bits, events) of a continuation model over token pieces.

    Pieces are batched by length and right-padded; padding never influences the
    scored positions because the models are causal. Long pieces go through `prefill`
    in chunks, so memory is bounded and the Transformer sees its sliding window.
    `progress` shows a bar (on stderr) over the batches."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(pieces)), key=lambda i: -len(pieces[i]))
    total_bits, events = 0.0, 0
    for b in tqdm(
        range(0, len(order), batch_size), desc="score", unit="batch", disable=not progress, leave=False
    ):
        group = [np.asarray(pieces[i], np.int64) for i in order[b : b + batch_size] if len(pieces[i]) >= 2]
        if not group:
            continue
        L = max(len(p) for p in group)
        arr = np.full((len(group), L), codec.PAD, np.int64)
        for r, p in enumerate(group):
            arr[r, : len(p)] = p
        x = torch.from_numpy(arr).to(device)
        lengths = torch.tensor([len(p) for p in group], device=device)
        state = model.init_state(len(group))  # type: ignore[operator]
        for s in range(0, L - 1, chunk):
            e = min(s + chunk, L - 1)
            logits, state = model.prefill(x[:, s:e], state)  # type: ignore[operator]  # (B, t, V)
            logp = F.log_softmax(logits.float(), dim=-1)
            target = x[:, s + 1 : e + 1]  # (B, t)
            nll = -logp.gather(-1, target[..., None])[..., 0]  # (B, t)
            mask = (torch.arange(s + 1, e + 1, device=device)[None, :] < lengths[:, None]).float()
            total_bits += float((nll * mask).sum()) / LN2
            events += int(mask.sum())
    model.train(was_training)
    return total_bits, events


def score_pieces(
    scorer: Scorer, pieces: Sequence[np.ndarray], name: str | None = None, progress: bool = False
) -> EvalResult:
    if isinstance(scorer, nn.Module):
        bits, n = model_bits(scorer, pieces, progress=progress)
    else:
        lp = scorer.log2_probs(pieces)
        bits, n = float(-lp.sum()), int(lp.size)
    return EvalResult(name or scorer_name(scorer), n, bits / n if n else float("nan"))


def take_pieces(data: TokenSplit, max_events: int | None = None) -> list[np.ndarray]:
    """Pieces in split order, stopping once `max_events` events are collected."""
    out, n = [], 0
    for p in data.pieces():
        if max_events is not None and n >= max_events:
            break
        out.append(np.asarray(p, np.int64))
        n += len(p) - 1
    return out


def evaluate_split(
    scorer: Scorer, data_dir: str | Path, split: str, max_events: int | None = None, name: str | None = None
) -> EvalResult:
    """Bits/event of any scorer on a split of prepared token shards."""
    return score_pieces(scorer, take_pieces(load_split(data_dir, split), max_events), name)


def evaluate_midi_files(
    paths: Iterable[str | Path], model: Scorer, name: str | None = None, progress: bool = False
) -> dict[str, Any]:
    """{"events", "bits_per_event", "model", "files"} over MIDI files (one piece each)."""
    pieces = []
    for p in tqdm(list(paths), desc="read", unit="file", disable=not progress, leave=False):
        toks = encode_midi(p, start_token=True)
        if len(toks) >= 2:
            pieces.append(np.asarray(toks, np.int64))
    res = score_pieces(model, pieces, name, progress=progress)
    return {**res.as_dict(), "files": len(pieces)}
