"""The morph model: a MusicVAE-style variational autoencoder of two-bar melodies
(Roberts et al., 2018, "A Hierarchical Latent Vector Model for Learning Long-Term
Structure in Music"; two bars need no hierarchy, as in their 2-bar melody model).

    tokens (B, 32) -> bidirectional GRU -> mu, sigma of z (B, latent)
    z -> tanh(linear) = the decoder's first state; z also joins every input step
    decoder: GRU over [embedding of the token before, z] -> logits (B, 32, 130)

The decoder is autoregressive: teacher-forced in training, greedy (or sampled) when
decoding, with its state explicit (`DecoderState`). Training keeps the latent in use
with free bits and an annealed KL weight (see scripts/train_vae.py). No I/O here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from . import melody
from .base import TensorState


@dataclass
class VAEConfig:
    vocab_size: int = melody.VOCAB_SIZE
    steps: int = melody.STEPS
    embed: int = 64
    encoder_hidden: int = 256
    latent: int = 128
    decoder_hidden: int = 512
    decoder_layers: int = 2
    dropout: float = 0.1


@dataclass
class DecoderState(TensorState):
    h: torch.Tensor  # (layers, B, decoder_hidden)
    last: torch.Tensor  # (B,) the token fed next (START_INPUT at the beginning)

    batch_dims: ClassVar[dict[str, int]] = {"h": 1, "last": 0}


class MelodyVAE(nn.Module):
    arch = "vae"

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.start_input = c.vocab_size  # an extra embedding row: "nothing before"
        self.embed = nn.Embedding(c.vocab_size + 1, c.embed)
        self.encoder = nn.GRU(c.embed, c.encoder_hidden, batch_first=True, bidirectional=True)
        self.to_mu = nn.Linear(2 * c.encoder_hidden, c.latent)
        self.to_sigma = nn.Linear(2 * c.encoder_hidden, c.latent)
        self.z_to_h = nn.Linear(c.latent, c.decoder_layers * c.decoder_hidden)
        self.decoder = nn.GRU(
            c.embed + c.latent,
            c.decoder_hidden,
            num_layers=c.decoder_layers,
            batch_first=True,
            dropout=c.dropout if c.decoder_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.decoder_hidden, c.vocab_size)

    # -- encoder ---------------------------------------------------------------------
    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, sigma), each (B, latent), of melodies (B, steps)."""
        _, h = self.encoder(self.embed(tokens))  # h: (2, B, H), the last states of both directions
        summary = torch.cat([h[0], h[1]], dim=-1)
        return self.to_mu(summary), nn.functional.softplus(self.to_sigma(summary)) + 1e-4

    # -- decoder ---------------------------------------------------------------------
    def initial_state(self, z: torch.Tensor) -> DecoderState:
        c = self.config
        h = torch.tanh(self.z_to_h(z)).view(z.shape[0], c.decoder_layers, c.decoder_hidden).transpose(0, 1)
        last = torch.full((z.shape[0],), self.start_input, dtype=torch.long, device=z.device)
        return DecoderState(h.contiguous(), last)

    def decode_logits(self, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (B, steps, V) of each step given the true steps before."""
        before = torch.cat([torch.full_like(tokens[:, :1], self.start_input), tokens[:, :-1]], dim=1)
        inputs = torch.cat([self.embed(before), z[:, None, :].expand(-1, tokens.shape[1], -1)], dim=-1)
        out, _ = self.decoder(self.drop(inputs), self.initial_state(z).h)
        return self.head(self.drop(out))

    def step(self, z: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """Logits (B, V) of the next step, and the state after feeding `state.last`."""
        inputs = torch.cat([self.embed(state.last), z], dim=-1)[:, None, :]
        out, h = self.decoder(inputs, state.h)
        return self.head(out[:, 0]), DecoderState(h, state.last)

    @torch.no_grad()
    def decode(
        self,
        z: torch.Tensor,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
        steps: int | None = None,
    ) -> torch.Tensor:
        """Melodies (B, steps) from latents: greedy when `temperature` is 0. A HOLD with
        no note to hold (first, or after a rest) is not allowed."""
        state = self.initial_state(z)
        out = torch.empty(z.shape[0], steps or self.config.steps, dtype=torch.long, device=z.device)
        sounding = torch.zeros(z.shape[0], dtype=torch.bool, device=z.device)
        for t in range(out.shape[1]):
            logits, state = self.step(z, state)
            logits[:, melody.HOLD] = logits[:, melody.HOLD].masked_fill(~sounding, -math.inf)
            if temperature > 0:
                token = torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator)[
                    :, 0
                ]
            else:
                token = logits.argmax(-1)
            out[:, t] = token
            sounding = token != melody.REST
            state.last = token
        return out

    @torch.no_grad()
    def decode_path(
        self, z: torch.Tensor, start: Sequence[int], end: Sequence[int], lean: float | np.ndarray
    ) -> torch.Tensor:
        """Greedy melodies (N, steps) along a path of latents z (N, latent) that leaves
        phrase `start` and reaches phrase `end`, changing as few steps as it can between
        neighbouring points.

        At each step every point may take any token the model finds within `lean` nats
        of its best (per point, if an array), and the tokens are chosen over the whole
        chain start, point 0, ..., point N-1, end: the fewest changes between neighbours,
        and of those the likeliest (fewest_changes). A knob turn then changes only the
        steps the model wants changed, each where the model's preference turns, not
        every step after the first one that flips (greedy decoding alone jumps). lean =
        0 is plain greedy decoding (up to ties). One host transfer per step (the chain is
        a scan over the points, cheap in numpy): the grid decodes in the background."""
        n, steps = z.shape[0], self.config.steps
        start_row, end_row = np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64)
        leans = np.broadcast_to(np.asarray(lean, dtype=np.float32), (n,))
        state = self.initial_state(z)
        out = np.empty((n, steps), dtype=np.int64)
        sounding = np.zeros(n, dtype=bool)
        for t in range(steps):
            logits, state = self.step(z, state)
            logp = torch.log_softmax(logits.float(), -1).cpu().numpy()
            logp[~sounding, melody.HOLD] = -np.inf  # nothing to hold
            token = fewest_changes(logp, leans, int(start_row[t]), int(end_row[t]))
            out[:, t] = token
            sounding = token != melody.REST
            state.last = torch.from_numpy(token).to(z.device)
        return torch.from_numpy(out).to(z.device)

    # -- the morph desk's jobs, on the model worker -------------------------------------
    def encode_and_grid(
        self, phrases: dict[str, Sequence[int]], steps: int, lean: float
    ) -> tuple[dict[str, torch.Tensor], list[list[int]]]:
        """Each phrase's latent (mu), and with slots a and b both in, the `steps` melodies
        from a to b (decode_points at evenly spaced positions)."""
        with torch.inference_mode():
            names = sorted(phrases)
            device = next(self.parameters()).device
            tokens = torch.tensor([list(phrases[n]) for n in names], dtype=torch.long, device=device)
            mu, _ = self.encode(tokens)
            latents = {n: mu[i] for i, n in enumerate(names)}
            if len(names) < 2:
                return latents, []
            xs = torch.linspace(0, 1, steps).tolist()
            return latents, self.decode_points(
                latents["a"], latents["b"], xs, phrases["a"], phrases["b"], lean
            )

    def decode_points(
        self,
        za: torch.Tensor,
        zb: torch.Tensor,
        xs: list[float],
        start: Sequence[int],
        end: Sequence[int],
        lean: float,
    ) -> list[list[int]]:
        """The melodies at positions xs (rising) on the slerp path from za to zb, leaving
        the phrase `start` and reaching `end` with the fewest changes (decode_path)."""
        with torch.inference_mode():
            z = slerp(za, zb, torch.tensor(xs, device=za.device))
            return self.decode_path(z, start, end, lean).tolist()

    # -- training --------------------------------------------------------------------
    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits (B, steps, V), mu, sigma) with z sampled by reparameterisation."""
        mu, sigma = self.encode(tokens)
        z = mu + sigma * torch.randn_like(sigma)
        return self.decode_logits(z, tokens), mu, sigma


_CHANGE = 1e6  # one change between neighbours outweighs any sum of regrets (nats)


def fewest_changes(logp: np.ndarray, lean: np.ndarray, start: int, end: int) -> np.ndarray:
    """One token per point (N,) from log-probabilities (N, V): each within `lean` (N,) of
    its point's best, with the fewest changes along start, point 0, ..., point N-1, end,
    and of those the smallest total regret (best minus chosen, in nats). Viterbi over
    the chain: a token either stays from the previous point or switches from the
    cheapest one, so each point costs O(V)."""
    n, v = logp.shape
    best = logp.max(-1, keepdims=True)
    regret = np.where(logp >= best - lean[:, None], best - logp, np.inf)
    cost = np.full(v, np.inf)
    cost[start] = 0.0
    came_from = np.empty((n, v), dtype=np.int64)
    stay = np.arange(v)
    for i in range(n):
        cheapest = int(cost.argmin())
        switch = cost[cheapest] + _CHANGE
        came_from[i] = np.where(cost <= switch, stay, cheapest)
        cost = np.minimum(cost, switch) + regret[i]
    cost[np.arange(v) != end] += _CHANGE
    token = np.empty(n, dtype=np.int64)
    token[-1] = int(cost.argmin())
    for i in range(n - 1, 0, -1):
        token[i - 1] = came_from[i, token[i]]
    return token


def kl_per_dim(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, 1)) in nats, (B, latent)."""
    return 0.5 * (mu.pow(2) + sigma.pow(2) - 1.0) - torch.log(sigma)


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (as MusicVAE's): (latent,) endpoints, t (N,) -> (N, latent).
    Nearly parallel or opposite endpoints (no one great circle between them) fall back
    to a straight line."""
    t = t.to(z0.dtype)[:, None]
    cos = torch.clamp(torch.dot(z0, z1) / (z0.norm() * z1.norm() + 1e-12), -1.0, 1.0)
    omega = torch.arccos(cos)
    if torch.sin(omega).abs() < 1e-4:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
