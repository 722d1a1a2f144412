"""Loading the models for the server: the continuation model (shipped name or path,
device, int8, TorchScript, warm-up on its worker thread), the morph VAE, the harmony
model and the synth."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch

from ..config import Config
from ..errors import ConfigError
from ..models import codec
from ..models.base import ContinuationModel
from ..models.checkpoint import CONTINUATION_ARCHS, CheckpointError, load_checkpoint, read_weights
from ..models.harmony import N_FEATURES, HarmonyModel
from ..models.shipped import find_checkpoint
from ..models.synth import SynthNet
from ..models.vae import MelodyVAE
from .device import choose_device
from .quantize import quantize_int8
from .reload import Built, load_into
from .scripted import ScriptedModel, script_for_live
from .stepper import Primed, TokenStepper
from .worker import Worker

log = logging.getLogger(__name__)
WARMUP_STEPS = 5


def load_worker(config: Config) -> Worker | None:
    """The started Worker, or None (with a warning) when no model is configured or found."""
    name = config.model.continuation
    if not name:
        log.info("no continuation model configured: harmonize by rule, no duet or autopilot")
        return None
    path = find_checkpoint(name, config.model.folder)
    if not path.exists():
        log.warning("no model at %s: harmonize by rule, no duet or autopilot", path)
        return None
    started = time.perf_counter()
    model, info, device = live_model(path, config)
    stepper = TokenStepper(model, name=path.stem, max_sessions=config.server.max_sessions)
    worker = Worker(stepper, threads=config.model.threads)
    worker.start()
    worker.spare = spare_of(path, info["config"], config)
    log.info(
        "model %s (%s%s%s) from %s on %s, ready in %.2f s",
        path.stem,
        info["config"].get("arch", "?"),
        ", int8" if _is_quantized(model) else "",
        ", TorchScript" if isinstance(model, ScriptedModel) else "",
        path,
        device,
        time.perf_counter() - started,
    )
    return worker


def live_model(path: Path, config: Config) -> tuple[ContinuationModel, dict[str, Any], torch.device]:
    """The continuation model at `path` as the server plays it: on `model.device`, int8
    as `model.quantize` says, compiled by TorchScript (CheckpointError if the file is
    not a continuation checkpoint)."""
    device = choose_device(config.model.device)
    model, info = load_checkpoint(path, device, archs=CONTINUATION_ARCHS)
    quantize = config.model.quantize
    if quantize == "int8" or (quantize == "auto" and device.type == "cpu"):
        if device.type != "cpu":
            raise ConfigError(f"model.quantize: int8 runs on the CPU, not on {device.type}")
        model = quantize_int8(model)
    return cast(ContinuationModel, script_for_live(model)), info, device


def spare_of(path: Path, model_config: dict[str, Any], config: Config) -> Built:
    """A second live model like the one at `path`, built now, at startup, for model
    switches to load new weights into (`liveai.runtime.reload`); its loading path is run
    once here too, so that the first switch pays for nothing new."""
    model, _, _ = live_model(path, config)
    warm_up(model, steps=WARMUP_STEPS)
    spare = Built(model, dict(model_config))
    checkpoint, _ = read_weights(path, "cpu")
    load_into(spare, checkpoint)
    return spare


def warm_up(model: ContinuationModel, steps: int = 20) -> None:
    """Run a model's first calls here (TorchScript optimises its graph on them), off
    the worker, so that no player's note pays for them: steps, a prefill, and two
    sessions batched as the stepper does."""
    stepper = TokenStepper(model, name="warmup")
    with torch.inference_mode():
        for i in range(steps):
            stepper.step([_Warm("a", i % 256)])
            stepper.step([_Warm("a", i % 256), _Warm("b", [i % 256, 300])])
        stepper.step([_Warm("a", list(range(steps)))])


def prime_states(
    model: ContinuationModel, snapshot: dict[str, tuple[Any, int, list[int]]]
) -> dict[str, Primed]:
    """Each session's state on the new weights, from what it was fed lately
    (`TokenStepper.snapshot`), computed here rather than on the worker."""
    device = model.embed.weight.device  # type: ignore[attr-defined]
    primed: dict[str, Primed] = {}
    with torch.inference_mode():
        for session, (heard, count, tokens) in snapshot.items():
            x = torch.tensor([[codec.START, *tokens]], dtype=torch.long, device=device)
            logits, state = model.prefill(x, model.init_state(1, device))
            primed[session] = (heard, count, state, logits[0, -1])
    return primed


@dataclass
class _Warm:
    session: str
    feed: Any


def load_morph(config: Config) -> MelodyVAE | None:
    """The morph VAE in eval mode, int8 on a CPU as `model.quantize` says (a faster
    decode, the same reconstruction accuracy), for the continuation model's worker; or
    None with a warning when none is configured or found."""
    name = config.model.morph
    if not name:
        return None
    path = find_checkpoint(name, config.model.folder)
    if not path.exists():
        log.warning("no morph model at %s: morph mode is not available", path)
        return None
    device = choose_device(config.model.device)
    model, _ = load_checkpoint(path, device, archs=("vae",))
    quantize = config.model.quantize
    if device.type == "cpu" and quantize in ("int8", "auto"):
        model = quantize_int8(model)
    log.info(
        "morph model %s (%s) from %s on %s",
        path.stem,
        "int8" if _is_quantized(model) else "float32",
        path,
        device,
    )
    return cast(MelodyVAE, model)


def load_harmony(config: Config) -> HarmonyModel | None:
    """The harmony model for the continuation model's worker (int8 on a CPU as
    `model.quantize` says, compiled by TorchScript), or None, logged, when
    `harmonize.by` does not ask for it or none is configured or found: harmonize then
    asks the continuation model."""
    name = config.model.harmony
    if config.harmonize.by != "harmony":
        return None
    if not name:
        log.info("no harmony model configured (model.harmony): harmonize asks the continuation model")
        return None
    path = find_checkpoint(name, config.model.folder)
    if not path.exists():
        log.warning("no harmony model at %s: harmonize asks the continuation model", path)
        return None
    device = choose_device(config.model.device)
    model, _ = load_checkpoint(path, device, archs=("harmony",))
    if device.type == "cpu" and config.model.quantize in ("int8", "auto"):
        model = quantize_int8(model)
    model = script_for_live(model)
    with torch.inference_mode():  # TorchScript optimises a graph on its first calls: not on a player's note
        for _ in range(WARMUP_STEPS):
            model.step(torch.zeros(1, N_FEATURES, dtype=torch.long, device=device), model.init_state(1))
    log.info(
        "harmony model %s (%d voicings%s%s) from %s on %s",
        path.stem,
        len(model.config.voicings),
        ", int8" if _is_quantized(model) else "",
        ", TorchScript" if isinstance(model, ScriptedModel) else "",
        path,
        device,
    )
    return cast(HarmonyModel, model)


def load_synth(name: str, setting: str = "audio.model") -> tuple[SynthNet, Path]:
    """The synth `name` (a shipped name or a checkpoint path), float32 in eval mode on
    the CPU (the render process feeds it from the CPU-side voices), and its path. A
    missing or broken file is a ConfigError naming `setting`: the user asked for sound,
    so liveai says why it cannot and stops (exit 2)."""
    path = find_checkpoint(name)
    try:
        model, _ = load_checkpoint(path, "cpu", archs=("synth",))
    except CheckpointError as exc:
        lines = str(exc).splitlines()
        if len(lines) > 1 and exc.__cause__ is not None:  # torch's page-long refusal: its kind is enough
            lines = [f"cannot read checkpoint {path}: {type(exc.__cause__).__name__}"]
        raise ConfigError(f"{setting}: {lines[0] if lines else type(exc).__name__}") from exc
    synth = cast(SynthNet, model)
    log.info(
        "synth %s from %s: %d Hz, receptive field %d samples",
        path.stem,
        path,
        synth.config.sample_rate,
        synth.receptive_field,
    )
    return synth, path


def _is_quantized(model: object) -> bool:
    return any("quantized" in type(m).__module__ for m in model.modules())  # type: ignore[attr-defined]
