"""New weights into a live model built already: how a model switch avoids building.

Building a live model (`loading.live_model`) quantizes, compiles by TorchScript and
warms up: tens of ms of CPU or more (docs/figures.md, the phases of a switch), on the
cores the loop and the worker need. So a second live model of the same architecture and size is
built at startup, and a switch only copies a checkpoint's weights into whichever of
the two is not playing, in place: float tensors by `copy_` (the compiled module shares
them), and each int8 layer packed again by the very function `quantize_dynamic` uses,
its packed weights set into the module and its compiled twin alike. No code is
compiled or read from the file, and the graph's warm-up stays. A checkpoint of
another architecture or size is built in full instead (`ModelSwitch` says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..models.base import ContinuationModel
from ..models.checkpoint import CheckpointError, build_model
from .quantize import is_int8_layer, quantize_layer

# Config fields that change training only: a model differing in them alone takes the weights.
TRAINING_ONLY = ("dropout",)


@dataclass
class Built:
    """A live model (int8, compiled, warmed up as `loading.live_model` builds it) and
    the config it was built for, arch included."""

    model: ContinuationModel
    config: dict[str, Any]
    template: nn.Module | None = None  # a float model of the config, on the CPU: the weights go through it

    def fits(self, config: dict[str, Any]) -> bool:
        """Whether a checkpoint of `config` can be loaded into this model."""
        return _shape(self.config) == _shape(config)


def load_into(built: Built, checkpoint: dict[str, Any]) -> None:
    """Copy a checkpoint's weights (`checkpoint.read_weights`, same config: `Built.fits`)
    into `built.model`, in place; CheckpointError, before anything is copied, when they
    do not fit. The model must not be playing meanwhile."""
    if built.template is None:  # once per model (a meta-device one would cost 3 s on first use)
        config = dict(built.config)
        built.template = build_model(config.pop("arch"), config).eval()
    template = built.template  # its own: the int8 layers keep its biases, not copies
    weights = checkpoint["model"]
    floats = template.state_dict()
    wrong = sorted(set(weights) ^ set(floats)) or [k for k in floats if weights[k].shape != floats[k].shape]
    if wrong:  # checked first: load_state_dict would copy what fits before it refuses
        raise CheckpointError(f"weights do not fit the {built.config['arch']} config: {', '.join(wrong[:3])}")
    template.load_state_dict(weights)  # half floats made float, as in a full build
    eager: nn.Module = getattr(built.model, "model", built.model)  # inside ScriptedModel, if compiled
    compiled = getattr(built.model, "scripted", None)
    with torch.no_grad():
        for name, tensor in [*eager.named_parameters(), *eager.named_buffers()]:
            if name in floats:  # (buffers not saved are derived from the config: the same)
                tensor.copy_(floats[name])
        for name, layer in eager.named_modules():
            if is_int8_layer(layer):
                fresh = quantize_layer(template.get_submodule(name))
                for path, packed in _packed(fresh):
                    _set(eager, f"{name}.{path}", packed)
                    if compiled is not None:
                        _set(compiled, f"{name}.{path}", packed)


def _shape(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in TRAINING_ONLY}


def _packed(module: nn.Module) -> list[tuple[str, Any]]:
    """The packed weights (TorchScript objects) in `module`, by attribute path."""
    found = []
    for prefix, sub in module.named_modules():
        for attr, value in vars(sub).items():
            if isinstance(value, torch._C.ScriptObject):
                found.append((f"{prefix}.{attr}" if prefix else attr, value))
    return found


def _set(root: Any, path: str, value: Any) -> None:
    owner, _, attr = path.rpartition(".")
    for part in owner.split(".") if owner else []:
        root = getattr(root, part)
    setattr(root, attr, value)
