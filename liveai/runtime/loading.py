"""Loading the continuation model for the server: shipped name or path, device, warm-up."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import cast

from ..config import Config
from ..models.base import ContinuationModel
from ..models.checkpoint import load_checkpoint
from ..errors import ConfigError
from .device import choose_device
from .quantize import quantize_int8
from .runner import ModelRunner
from .scripted import ScriptedModel, script_for_live

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parents[2] / "models"


def resolve_checkpoint(name: str) -> Path:
    """`gru` -> models/gru.pt (shipped with liveai); anything with a / or .pt is a path."""
    if "/" in name or name.endswith(".pt"):
        return Path(name).expanduser()
    return SHIPPED / f"{name}.pt"


def load_runner(config: Config) -> ModelRunner | None:
    """The started ModelRunner, or None (with a warning) when no model is configured or found."""
    name = config.model.continuation
    if not name:
        log.info("no continuation model configured: harmonize by rule, no duet or autopilot")
        return None
    path = resolve_checkpoint(name)
    if not path.exists():
        log.warning("no model at %s: harmonize by rule, no duet or autopilot", path)
        return None
    started = time.perf_counter()
    device = choose_device(config.model.device)
    model, info = load_checkpoint(path, device)
    quantize = config.model.quantize
    if quantize == "int8" or (quantize == "auto" and device.type == "cpu"):
        if device.type != "cpu":
            raise ConfigError(f"model.quantize: int8 runs on the CPU, not on {device.type}")
        model = quantize_int8(model)
    model = script_for_live(model)
    runner = ModelRunner(cast(ContinuationModel, model), name=path.stem, max_sessions=config.server.max_sessions, threads=config.model.threads)
    runner.start()
    log.info("model %s (%s%s%s) on %s, ready in %.2f s", path.stem, info["config"].get("arch", "?"),
             ", int8" if _is_quantized(model) else "", ", TorchScript" if isinstance(model, ScriptedModel) else "",
             device, time.perf_counter() - started)
    return runner


def _is_quantized(model: object) -> bool:
    return any("quantized" in type(m).__module__ for m in model.modules())  # type: ignore[attr-defined]
