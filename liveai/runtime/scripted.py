"""A model's step and prefill compiled by TorchScript for live use.

Called from Python, a step is some hundred small torch calls, and between any two of
them the worker thread needs the GIL back: while the asyncio loop is busy (a burst of
notes), each call waits its turn and a 5 ms Transformer step takes 25. A TorchScript
method is one call that runs its whole graph in C++ without the GIL, so the worker and
the loop no longer slow each other down; it also saves the Python overhead per op.

The model classes keep one implementation: their `step`/`prefill` (what training and
evaluation call) wrap tensor-level methods marked `@torch.jit.export` and listed in
`live_methods`; here those methods come from the compiled module, everything else
from the model itself.
"""

from __future__ import annotations

import logging
import types
import warnings
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)
# The models' Python methods that call their live_methods: run here with `self` this wrapper.
WRAPPERS = ("step", "prefill", "prefill_rows")


class ScriptedModel:
    """`model` whose `live_methods` run compiled; same interface (step, prefill, init_state...)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning
            )
            self.scripted = torch.jit.script(model)
        names = [*model.live_methods, "forward"]
        self._compiled = {name: getattr(self.scripted, name) for name in names}

    def __getattr__(self, name: str) -> Any:
        model = self.__dict__["model"]
        compiled = self.__dict__.get("_compiled", {})
        if name in compiled:
            return compiled[name]
        if name in WRAPPERS and hasattr(type(model), name):
            return types.MethodType(getattr(type(model), name), self)
        return getattr(model, name)


def script_for_live(model: nn.Module) -> Any:
    """The compiled model, or `model` itself (with a warning) if TorchScript refuses it."""
    try:
        return ScriptedModel(model)
    except Exception as exc:  # a custom checkpoint's layers may not compile: run it as Python
        log.warning("TorchScript could not compile the model (%s); it runs as Python", exc)
        return model
