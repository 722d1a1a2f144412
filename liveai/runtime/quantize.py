"""int8 dynamic quantization of a model's GRU and Linear layers for live use on a CPU.

A step is bound by reading the weights: int8 weights are 4x smaller, so an event that
arrives after a pause (cold caches) costs less while the logits barely move
(CHANGELOG.md has the figures). PyTorch marks
torch.ao.quantization as deprecated; it still ships it, and where it is gone liveai
falls back to float32 with a warning.
"""

from __future__ import annotations

import copy
import logging
import warnings

import torch
from torch import nn

log = logging.getLogger(__name__)


def quantize_int8(model: nn.Module) -> nn.Module:
    """A quantized copy of `model` (float32 `model` itself when quantization is unavailable)."""
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:
        log.warning("int8 quantization is not available in this PyTorch; the model runs in float32")
        return model
    with warnings.catch_warnings():
        # the deprecation notice of torch.ao.quantization, and its note on quint8 tensors
        warnings.filterwarnings(
            "ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor", category=UserWarning)
        return quantize_dynamic(copy.deepcopy(model), {nn.GRU, nn.Linear}, dtype=torch.qint8)


def quantize_layer(layer: nn.Module) -> nn.Module:
    """The int8 layer `quantize_int8` makes of the float `layer` (one GRU or Linear),
    by the same function: new weights for a live model's int8 layer, without copying
    or converting the rest of the model."""
    from torch.ao.quantization import default_dynamic_qconfig
    from torch.ao.quantization.quantization_mappings import get_default_dynamic_quant_module_mappings

    layer.qconfig = default_dynamic_qconfig  # what quantize_dynamic gives a GRU or Linear at qint8
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor", category=UserWarning)
        return get_default_dynamic_quant_module_mappings()[type(layer)].from_float(layer)


def is_int8_layer(module: nn.Module) -> bool:
    """A layer `quantize_int8` made (its weights packed, not parameters)."""
    try:
        from torch.ao.quantization.quantization_mappings import get_default_dynamic_quant_module_mappings
    except ImportError:
        return False
    return type(module) in set(get_default_dynamic_quant_module_mappings().values())
