"""Where models run: `cuda` when present, else `mps`, else `cpu` (config `model.device`)."""

from __future__ import annotations

import torch

from ..errors import ConfigError


def choose_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("model.device: 'cuda' was asked for but no CUDA device is available")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("model.device: 'mps' was asked for but MPS is not available")
    return torch.device(requested)
