"""GRU continuation model: embedding -> multi-layer GRU -> linear head. O(1) per event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from . import codec
from .base import TensorState


@dataclass
class GRUConfig:
    vocab_size: int = codec.VOCAB_SIZE
    hidden: int = 384
    layers: int = 2
    dropout: float = 0.1


@dataclass
class GRUState(TensorState):
    h: torch.Tensor  # (L, B, H)

    batch_dims: ClassVar[dict[str, int]] = {"h": 1}


class GRUModel(nn.Module):
    arch = "gru"
    live_methods = ("prefill_h", "prefill_rows_h")  # compiled for live use (liveai.runtime.scripted)

    def __init__(self, config: GRUConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.hidden)
        self.drop = nn.Dropout(config.dropout)
        self.gru = nn.GRU(
            config.hidden,
            config.hidden,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.head = nn.Linear(config.hidden, config.vocab_size)

    def init_state(self, batch: int, device: torch.device | str | None = None) -> GRUState:
        p = self.embed.weight  # (the head may be int8-quantized for live use; the embedding never is)
        h = torch.zeros(
            self.config.layers, batch, self.config.hidden, device=device or p.device, dtype=p.dtype
        )
        return GRUState(h)  # (L, B, H)

    def prefill(self, tokens: torch.Tensor, state: GRUState) -> tuple[torch.Tensor, GRUState]:
        logits, h = self.prefill_h(tokens, state.h)
        return logits, GRUState(h)  # (B, T, V)

    def step(self, tokens: torch.Tensor, state: GRUState) -> tuple[torch.Tensor, GRUState]:
        logits, h = self.prefill_h(tokens[:, None], state.h)  # (B, 1, V)
        return logits[:, 0], GRUState(h)  # (B, V)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(
            self.gru.num_layers,
            tokens.shape[0],
            self.gru.hidden_size,
            device=self.embed.weight.device,
            dtype=self.embed.weight.dtype,
        )
        return self.prefill_h(tokens, h)[0]  # (B, T, V)

    def prefill_rows(
        self, tokens: torch.Tensor, lengths: torch.Tensor, state: GRUState
    ) -> tuple[torch.Tensor, GRUState]:
        """Sessions fed token lists of different lengths in one call: tokens (B, T) padded
        after each row's `lengths` (B,) tokens -> logits (B, V) after each row's last
        token, and each row's state there."""
        logits, h = self.prefill_rows_h(tokens, lengths, state.h)
        return logits, GRUState(h)

    # The state as a plain tensor: what TorchScript compiles for live use (liveai.runtime.scripted).
    @torch.jit.export
    def prefill_h(self, tokens: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (B, T), h (L, B, H) -> logits (B, T, V), h after the last token."""
        y, h = self.gru(self.drop(self.embed(tokens)), h)  # (B, T, H), (L, B, H)
        return self.head(self.drop(y)), h

    @torch.jit.export
    def prefill_rows_h(
        self, tokens: torch.Tensor, lengths: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # packed, each row stops at its length; the top layer's last state is its output there
        x = pack_padded_sequence(
            self.drop(self.embed(tokens)), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, h = self.gru(x, h)  # (L, B, H)
        return self.head(self.drop(h[-1])), h
