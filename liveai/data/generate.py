"""Offline generation: a continuation of a MIDI file by a model, with the same codec
and sampling as the live server."""

from __future__ import annotations

import logging
from pathlib import Path

import pretty_midi
import torch
from torch import nn

from ..models import codec
from ..models.sampling import Constraints, Sampler
from ..models.tonality import KeyBalance
from ..music.note import Note
from .midi import midi_to_notes, notes_to_instrument

log = logging.getLogger(__name__)


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
    prime_notes = midi_to_notes(prime_midi_path)
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
        Note(n.start + offset, min(n.end, seconds) + offset, n.pitch, n.velocity)
        for n in codec.decode_tokens(generated)
        if n.start < seconds
    ]
    pm = pretty_midi.PrettyMIDI()
    if include_prime:
        pm.instruments.append(notes_to_instrument(prime_notes, name="prime"))
    pm.instruments.append(notes_to_instrument(cont, name="continuation"))
    log.info("generated %d tokens, %d notes", len(generated), len(cont))
    return pm
