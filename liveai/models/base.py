"""The interface shared by every continuation model and its explicit state.

A model never stores session state: `init_state` makes one, `step`/`prefill` take it
and hand it back. One set of weights therefore serves any number of sessions, and
B independent sessions are served by one batched call (`stack_states` them, step,
`select` the rows back).

`step` and `prefill` may update the state's tensors in place (the Transformer writes
its KV ring buffer) and return the same object: treat the state you passed in as
consumed, and `clone()` it first if you need to branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, Self, TypeVar, runtime_checkable

import torch


@runtime_checkable
class ModelState(Protocol):
    @property
    def batch_size(self) -> int: ...

    @property
    def device(self) -> torch.device: ...

    def select(self, i: int) -> Self:
        """Row `i` as a batch-1 state (a copy, never a view of this one)."""
        ...

    def replace(self, i: int, row: Self) -> None:
        """Overwrite row `i` in place with a batch-1 state."""
        ...

    def to(self, device: torch.device | str) -> Self: ...

    def clone(self) -> Self: ...

    def nbytes(self) -> int:
        """Bytes held by the state's tensors."""
        ...

    @classmethod
    def stack(cls, states: Sequence[Self]) -> Self:
        """Concatenate states along the batch dimension (new tensors)."""
        ...


S = TypeVar("S", bound=ModelState)


@runtime_checkable
class ContinuationModel(Protocol):
    """What the server, training and evaluation rely on (GRUModel, TransformerModel)."""

    arch: str
    config: Any

    def init_state(self, batch: int, device: torch.device | str | None = None) -> Any: ...

    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """tokens (B,) -> logits (B, V) of the next token, new state."""
        ...

    def prefill(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """tokens (B, T) -> logits (B, T, V), state after the last token (fast priming)."""
        ...

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) from an empty state -> logits (B, T, V) (training)."""
        ...


def stack_states(states: Sequence[S]) -> S:
    """Batch independent sessions' states (all of one model) for one batched step."""
    if not states:
        raise ValueError("stack_states needs at least one state")
    return type(states[0]).stack(states)


def tensor_nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)
