"""One evaluation for every scorer (neural checkpoint, unigram, n-gram) and offline
generation of a continuation.

Bits per event: each piece begins with START; every later token is predicted from
all earlier tokens of its piece (for the Transformer: through its sliding window,
exactly as live stepping would see it) and -log2 P is averaged over those tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi
import torch
import torch.nn.functional as F
from torch import nn

from liveai.models import codec
from liveai.models.data import TokenSplit, load_split
from liveai.models.ngram import KneserNeyModel, UnigramModel
from liveai.models.sampling import Constraints, Sampler
from liveai.models.tonality import KeyBalance

log = logging.getLogger(__name__)

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
    model: nn.Module, pieces: Sequence[np.ndarray], batch_size: int = 16, chunk: int = 256
) -> tuple[float, int]:
    """(total bits, events) of a continuation model over token pieces.

    Pieces are batched by length and right-padded; padding never influences the
    scored positions because the models are causal. Long pieces go through `prefill`
    in chunks, so memory is bounded and the Transformer sees its sliding window."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(pieces)), key=lambda i: -len(pieces[i]))
    total_bits, events = 0.0, 0
    for b in range(0, len(order), batch_size):
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


def score_pieces(scorer: Scorer, pieces: Sequence[np.ndarray], name: str | None = None) -> EvalResult:
    if isinstance(scorer, nn.Module):
        bits, n = model_bits(scorer, pieces)
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


def evaluate_midi_files(paths: Iterable[str | Path], model: Scorer, name: str | None = None) -> dict[str, Any]:
    """{"events", "bits_per_event", "model", "files"} over MIDI files (one piece each)."""
    pieces = []
    for p in paths:
        toks = codec.encode_midi(p, start_token=True)
        if len(toks) >= 2:
            pieces.append(np.asarray(toks, np.int64))
    res = score_pieces(model, pieces, name)
    return {**res.as_dict(), "files": len(pieces)}


@torch.inference_mode()
def generate_continuation(
    model: nn.Module,
    prime_midi_path: str | Path,
    seconds: float,
    temperature: float = 1.0,
    top_p: float = 0.95,
    seed: int | None = None,
    constraints: Constraints | None = None,
    include_prime: bool = True,
    balance: KeyBalance | None = None,
) -> pretty_midi.PrettyMIDI:
    """Prime the model's state with a MIDI file's tokens, then sample until `seconds`
    of music follow the prime's last event.

    `constraints` bound what may be sampled, `balance` keeps the notes' degrees in a
    key's proportions. The result holds the prime (instrument "prime", if
    `include_prime`) and the continuation (instrument "continuation") on one timeline."""
    model.eval()
    device = next(model.parameters()).device
    prime_notes = codec.midi_to_notes(prime_midi_path)
    prime = codec.encode_notes(prime_notes, start_token=True)
    sampler = Sampler(constraints, temperature=temperature, top_p=top_p, seed=seed, device="cpu")
    for t in prime:
        sampler.observe(t)
    state = model.init_state(1)  # type: ignore[operator]
    x = torch.tensor([prime], dtype=torch.long, device=device)
    chunk = int(getattr(model.config, "window", 512))
    for s in range(0, x.shape[1], chunk):
        logits, state = model.prefill(x[:, s : s + chunk], state)  # type: ignore[operator]
    last = logits[0, -1].float().cpu()
    target_steps = int(round(seconds / codec.TIME_STEP_S))
    generated: list[int] = []
    steps = 0
    max_tokens = 40 * target_steps + 1000  # a safety net against a model that never shifts time
    while steps < target_steps and len(generated) < max_tokens:
        tok = sampler.sample(last if balance is None else last + balance.offsets())
        if balance is not None:
            balance.observe(tok)
        if codec.is_time_shift(tok):
            steps += codec.time_shift_steps(tok)
        generated.append(tok)
        logits, state = model.step(torch.tensor([tok], device=device), state)  # type: ignore[operator]
        last = logits[0].float().cpu()
    origin = codec.decode_tokens(prime)  # decoded prime: its timeline ends at the last event
    offset = max((n.end for n in origin), default=0.0)
    cont = [
        codec.Note(n.start + offset, min(n.end, seconds) + offset, n.pitch, n.velocity)
        for n in codec.decode_tokens(generated)
        if n.start < seconds
    ]
    pm = pretty_midi.PrettyMIDI()
    if include_prime:
        inst = codec.notes_to_midi(prime_notes).instruments[0]
        inst.name = "prime"
        pm.instruments.append(inst)
    inst = codec.notes_to_midi(cont).instruments[0]
    inst.name = "continuation"
    pm.instruments.append(inst)
    log.info("generated %d tokens, %d notes", len(generated), len(cont))
    return pm
