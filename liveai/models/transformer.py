"""Decoder-only Transformer (pre-LN, nanoGPT-style) with ALiBi, a sliding attention
window W and a fixed-size KV ring buffer, so a session can run forever in bounded
memory and stepping token by token equals `forward` with a band-causal mask.

Why ALiBi and not RoPE: RoPE rotates q and k by angles proportional to absolute
positions; in float32 those angles lose precision once positions reach ~1e5-1e6, and
a live session never stops. ALiBi adds `-slope * (i - j)`, a function of the relative
distance only, which we compute in int64 and which never exceeds W, so step 10**9 is
as exact as step 10. Positions (int64 counters in the state) are only used to find
which ring slot holds which distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from . import codec
from .base import TensorState


@dataclass
class TransformerConfig:
    vocab_size: int = codec.VOCAB_SIZE
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    window: int = 512  # each position attends to the previous `window` positions, itself included
    dropout: float = 0.1


@dataclass
class TransformerState(TensorState):
    """KV ring buffer: position p lives in slot p % W; `pos` counts tokens consumed."""

    k: torch.Tensor  # (L, B, nh, W, hd)
    v: torch.Tensor  # (L, B, nh, W, hd)
    pos: torch.Tensor  # (B,) int64

    batch_dims: ClassVar[dict[str, int]] = {"k": 1, "v": 1, "pos": 0}


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """Geometric head slopes of the ALiBi paper (also for non-powers of two)."""

    def pow2(n: int) -> list[float]:
        start = 2 ** (-8 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(n_heads).is_integer():
        return torch.tensor(pow2(n_heads))
    closest = 2 ** math.floor(math.log2(n_heads))
    extra = pow2(2 * closest)[0::2][: n_heads - closest]
    return torch.tensor(pow2(closest) + extra)


def band_bias(
    dist: torch.Tensor, valid: torch.Tensor, slopes: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """Additive attention bias: -slope * dist where valid, -inf elsewhere.

    dist, valid: (..., Tq, Tk) int64/bool -> (..., nh, Tq, Tk)."""
    bias = -slopes.to(dtype).view(-1, 1, 1) * dist.unsqueeze(-3).to(dtype)
    return bias.masked_fill(~valid.unsqueeze(-3), float("-inf"))


class Attention(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        if cfg.d_model % cfg.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        self.nh = cfg.n_heads
        self.hd = cfg.d_model // cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.dropout = cfg.dropout
        self.resid_drop = nn.Dropout(cfg.dropout)

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        heads = (B, T, self.nh, self.hd)
        return q.view(heads).transpose(1, 2), k.view(heads).transpose(1, 2), v.view(heads).transpose(1, 2)

    def _out(self, y: torch.Tensor) -> torch.Tensor:
        B, nh, T, hd = y.shape
        return self.resid_drop(self.proj(y.transpose(1, 2).reshape(B, T, nh * hd)))  # (B, T, C)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x (B, T, C), bias (nh, T, T) -> (B, T, C)."""
        q, k, v = self._heads(x)  # (B, nh, T, hd)
        p = self.dropout if self.training else 0.0
        return self._out(F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p))

    def prefill(
        self,
        x: torch.Tensor,
        k_cache: torch.Tensor,
        v_cache: torch.Tensor,
        bias: torch.Tensor,
        slots: torch.Tensor,
    ) -> torch.Tensor:
        """Chunk of T tokens after the cached ones. x (B, T, C), caches (B, nh, W, hd)
        (updated in place), bias (B, nh, T, W + T), slots (B, T) ring slot of each
        new token or -1 when it would be overwritten within the chunk anyway."""
        q, k, v = self._heads(x)  # (B, nh, T, hd)
        keys = torch.cat([k_cache, k], dim=2)  # (B, nh, W + T, hd)
        vals = torch.cat([v_cache, v], dim=2)
        y = F.scaled_dot_product_attention(q, keys, vals, attn_mask=bias)  # (B, nh, T, hd)
        keep = slots >= 0  # (B, T)
        kept = keep.nonzero()  # (n, 2): batch row, chunk index
        b_idx, t_idx = kept[:, 0], kept[:, 1]
        s_idx = slots[b_idx, t_idx]
        k_cache[b_idx, :, s_idx] = k[b_idx, :, t_idx]
        v_cache[b_idx, :, s_idx] = v[b_idx, :, t_idx]
        return self._out(y)

    def step(
        self,
        x: torch.Tensor,
        k_cache: torch.Tensor,
        v_cache: torch.Tensor,
        bias: torch.Tensor,
        rows: torch.Tensor,
        slot: torch.Tensor,
    ) -> torch.Tensor:
        """One token. x (B, 1, C); write its k/v into ring slot `slot` (B,) of batch
        rows `rows` (= arange(B)) first, then attend over the whole ring (bias
        (B, nh, 1, W) masks slots not yet filled)."""
        q, k, v = self._heads(x)  # (B, nh, 1, hd)
        k_cache[rows, :, slot] = k[:, :, 0]  # (B, nh, hd)
        v_cache[rows, :, slot] = v[:, :, 0]
        return self._out(F.scaled_dot_product_attention(q, k_cache, v_cache, attn_mask=bias))


class Block(nn.Module):
    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_ff),
            nn.GELU(),
            nn.Linear(cfg.d_ff, cfg.d_model),
            nn.Dropout(cfg.dropout),
        )

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The MLP sublayer with its residual."""
        return x + self.mlp(self.ln2(x))


class TransformerModel(nn.Module):
    arch = "transformer"
    live_methods = ("step_kv", "prefill_kv")  # compiled for live use (liveai.runtime.scripted)

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.window = config.window
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.head.weight = self.embed.weight  # weight tying (nanoGPT)
        self.register_buffer("slopes", alibi_slopes(config.n_heads), persistent=False)
        self.register_buffer("ring_slots", torch.arange(config.window), persistent=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # scaled init of residual projections (GPT-2)
            if name.endswith("attn.proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    # --- state -----------------------------------------------------------------

    def init_state(self, batch: int, device: torch.device | str | None = None) -> TransformerState:
        c = self.config
        p = self.embed.weight  # (the head may be int8-quantized for live use; the embedding never is)
        dev = device or p.device
        shape = (c.n_layers, batch, c.n_heads, c.window, c.d_model // c.n_heads)
        k = torch.zeros(shape, device=dev, dtype=p.dtype)  # (L, B, nh, W, hd)
        v = torch.zeros(shape, device=dev, dtype=p.dtype)
        return TransformerState(k, v, torch.zeros(batch, dtype=torch.long, device=dev))

    # --- paths -----------------------------------------------------------------

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.ln_f(x))  # (B, T, V)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) -> logits (B, T, V), band-causal over the window."""
        T = tokens.shape[1]
        i = torch.arange(T, device=tokens.device)
        dist = i[:, None] - i[None, :]  # (T, T) query minus key position
        x = self.drop(self.embed(tokens))  # (B, T, C)
        bias = band_bias(dist, (dist >= 0) & (dist < self.window), self.slopes, x.dtype)  # (nh, T, T)
        for block in self.blocks:
            x = x + block.attn(block.ln1(x), bias)
            x = block.feed_forward(x)
        return self._logits(x)

    def prefill(self, tokens: torch.Tensor, state: TransformerState) -> tuple[torch.Tensor, TransformerState]:
        """tokens (B, T) after `state` -> logits (B, T, V); equals stepping T times."""
        logits, state.pos = self.prefill_kv(tokens, state.k, state.v, state.pos)
        return logits, state

    def step(self, tokens: torch.Tensor, state: TransformerState) -> tuple[torch.Tensor, TransformerState]:
        """tokens (B,) -> logits (B, V); cost independent of how long the session ran."""
        logits, state.pos = self.step_kv(tokens, state.k, state.v, state.pos)
        return logits, state

    # The state as plain tensors (k, v written in place; the new positions returned):
    # what TorchScript compiles for live use (see liveai.runtime.scripted).

    @torch.jit.export
    def prefill_kv(
        self, tokens: torch.Tensor, k: torch.Tensor, v: torch.Tensor, pos: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        W = self.window
        B, T = tokens.shape
        j = torch.arange(W, device=tokens.device)
        # Slot j holds the latest position p < pos with p % W == j (valid if p >= 0).
        cache_pos = pos[:, None] - 1 - torch.remainder(pos[:, None] - 1 - j, W)  # (B, W)
        new_pos = pos[:, None] + torch.arange(T, device=tokens.device)  # (B, T)
        key_pos = torch.cat([cache_pos, new_pos], dim=1)  # (B, W + T)
        dist = new_pos[:, :, None] - key_pos[:, None, :]  # (B, T, W + T)
        valid = (dist >= 0) & (dist < W) & (key_pos[:, None, :] >= 0)
        x = self.drop(self.embed(tokens))  # (B, T, C)
        bias = band_bias(dist, valid, self.slopes, x.dtype)  # (B, nh, T, W + T)
        # Only the last W new tokens survive in the ring.
        slots = torch.where(torch.arange(T, device=tokens.device) >= T - W, new_pos % W, -1)  # (B, T)
        for layer, block in enumerate(self.blocks):
            x = x + block.attn.prefill(block.ln1(x), k[layer], v[layer], bias, slots)
            x = block.feed_forward(x)
        return self._logits(x), pos + T

    @torch.jit.export
    def step_kv(
        self, tokens: torch.Tensor, k: torch.Tensor, v: torch.Tensor, pos: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        W = self.window  # pos (B,): the position of this token
        slot = pos % W  # (B,)
        rows = torch.arange(tokens.shape[0], device=tokens.device)
        # After writing, slot j holds position pos - ((pos - j) mod W): distance (pos - j) mod W.
        dist = torch.remainder(pos[:, None] - self.ring_slots, W)  # (B, W)
        valid = dist <= pos[:, None]  # slot filled at least once
        x = self.embed(tokens)[:, None]  # (B, 1, C)
        bias = band_bias(dist[:, None], valid[:, None], self.slopes, x.dtype)  # (B, nh, 1, W)
        for layer, block in enumerate(self.blocks):
            x = x + block.attn.step(block.ln1(x), k[layer], v[layer], bias, rows, slot)
            x = block.feed_forward(x)
        return self._logits(x)[:, 0], pos + 1
