"""The interface shared by every continuation model, and the base of their explicit states.

A model never stores session state: `init_state` makes one, `step`/`prefill` take it
and hand it back. One set of weights therefore serves any number of sessions, and
B independent sessions are served by one batched call (`stack_states` them, step,
`select` the rows back).

`step` and `prefill` may update the state's tensors in place (the Transformer writes
its KV ring buffer) and return the same object: treat the state you passed in as
consumed, and `clone()` it first if you need to branch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, Self, TypeVar, runtime_checkable

import torch


class TensorState:
    """A dataclass of tensors that each carry the batch along one dimension, named in
    `batch_dims` (field -> dimension); everything a runtime does with states (batch
    sessions, take a row back, move, copy, measure) works on every field alike."""

    batch_dims: ClassVar[dict[str, int]]

    def _fields(self) -> list[tuple[str, torch.Tensor, int]]:
        return [(f.name, getattr(self, f.name), self.batch_dims[f.name]) for f in dataclasses.fields(self)]  # type: ignore[arg-type]

    @property
    def batch_size(self) -> int:
        _, tensor, dim = self._fields()[0]
        return int(tensor.shape[dim])

    @property
    def device(self) -> torch.device:
        return self._fields()[0][1].device

    def select(self, i: int) -> Self:
        """Row `i` as a batch-1 state (a copy, never a view of this one)."""
        return type(self)(**{name: t.narrow(dim, i, 1).clone() for name, t, dim in self._fields()})

    def replace(self, i: int, row: Self) -> None:
        """Overwrite row `i` in place with a batch-1 state."""
        for name, t, dim in self._fields():
            t.narrow(dim, i, 1).copy_(getattr(row, name))

    def to(self, device: torch.device | str) -> Self:
        return type(self)(**{name: t.to(device) for name, t, _ in self._fields()})

    def clone(self) -> Self:
        return type(self)(**{name: t.clone() for name, t, _ in self._fields()})

    def nbytes(self) -> int:
        """Bytes held by the state's tensors."""
        return sum(t.numel() * t.element_size() for _, t, _ in self._fields())

    @classmethod
    def stack(cls, states: Sequence[Self]) -> Self:
        """Concatenate states along the batch dimension (new tensors)."""
        fields = states[0]._fields()
        return cls(
            **{name: torch.cat([getattr(s, name) for s in states], dim=dim) for name, _, dim in fields}
        )


S = TypeVar("S", bound=TensorState)


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
