"""The one way to build, save and load liveai's models (continuation, morph, synth, harmony).

A checkpoint is a dict of plain types and tensors only, so `torch.load(...,
weights_only=True)` can read it without unpickling arbitrary objects:
`{"config": {"arch": ..., **config fields}, "model": state_dict, "vocab": {...},
"train_info": {...}}`.
"""

from __future__ import annotations

import dataclasses
import pickle  # only for its exception type: torch.load(weights_only=True) raises it
from pathlib import Path
from typing import Any

import torch
from torch import nn

from liveai.errors import LiveaiError
from liveai.models import codec, melody
from liveai.models.gru import GRUConfig, GRUModel
from liveai.models.harmony import HarmonyConfig, HarmonyModel
from liveai.models.synth import FEATURE_NAMES, SynthConfig, SynthNet
from liveai.models.transformer import TransformerConfig, TransformerModel
from liveai.models.vae import MelodyVAE, VAEConfig

ARCHS: dict[str, tuple[type, type[nn.Module]]] = {
    "gru": (GRUConfig, GRUModel),
    "transformer": (TransformerConfig, TransformerModel),
    "vae": (VAEConfig, MelodyVAE),
    "synth": (SynthConfig, SynthNet),
    "harmony": (HarmonyConfig, HarmonyModel),
}
CONTINUATION_ARCHS = ("gru", "transformer")


def vocab_of(arch: str, config: dict[str, Any] | None = None) -> dict[str, object]:
    """The vocabulary a model of `arch` (with `config`'s fields) reads and writes, as
    stored in its checkpoints."""
    if arch == "synth":  # what it hears: per-sample features of the sounding notes
        features = int((config or {}).get("features", SynthConfig.features))
        return {"name": "synth-features-v1", "features": list(FEATURE_NAMES[:features])}
    if arch == "harmony":  # its voicings are in its config
        return {"name": "harmony-v1"}
    return melody.describe_vocab() if arch == "vae" else codec.describe_vocab()


def plain_args(args: Any) -> dict[str, Any]:
    """A training run's command-line arguments as a checkpoint keeps them: the values a
    weights-only load reads back (scalars, and lists of them: --cfg, --hand-over)."""
    scalar = (str, int, float, bool, type(None))
    kept: dict[str, Any] = {}
    for key, value in vars(args).items():
        if isinstance(value, (list, tuple)) and all(isinstance(v, scalar) for v in value):
            kept[key] = list(value)
        elif isinstance(value, scalar):
            kept[key] = value
    return kept


class CheckpointError(LiveaiError):
    """A checkpoint is missing, unreadable or does not match this code."""


def build_model(arch: str, config: dict[str, Any] | None = None) -> nn.Module:
    """A fresh model of `arch` ("gru" or "transformer") from config fields."""
    if arch not in ARCHS:
        raise CheckpointError(f"unknown arch {arch!r}; known: {', '.join(ARCHS)}")
    cfg_cls, model_cls = ARCHS[arch]
    fields = {f.name for f in dataclasses.fields(cfg_cls)}
    unknown = set(config or {}) - fields
    if unknown:
        raise CheckpointError(f"unknown {arch} config fields: {sorted(unknown)}")
    try:
        cfg = cfg_cls(**(config or {}))
    except ValueError as exc:  # a field the config itself refuses
        raise CheckpointError(f"{arch} config: {exc}") from exc
    return model_cls(cfg)


def model_config(model: nn.Module) -> dict[str, Any]:
    """Plain-type config of a model, with its arch name."""
    return {"arch": model.arch, **dataclasses.asdict(model.config)}  # type: ignore[arg-type]


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DistributedDataParallel / torch.compile wrappers."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or model._orig_mod  # type: ignore[assignment]
    return model


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    train_info: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    half: bool = False,
) -> None:
    """Atomically write a checkpoint (`extra`: e.g. optimizer state for resuming).

    `half` stores float weights as float16 (shipped models: half the size in git);
    `load_checkpoint` copies them back into the float32 parameters."""
    model = unwrap(model)
    weights: dict[str, torch.Tensor] = {}
    converted: dict[int, torch.Tensor] = {}  # keeps tied weights stored once
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if half and v.is_floating_point():
            v = converted.setdefault(v.data_ptr(), v.half())
        weights[k] = v
    ckpt: dict[str, Any] = {
        "config": model_config(model),
        "model": weights,
        "vocab": vocab_of(model.arch, dataclasses.asdict(model.config)),  # type: ignore[arg-type]
        "train_info": dict(train_info or {}),
    }
    ckpt.update(extra or {})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)


def read_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The raw checkpoint dict (for resuming training)."""
    try:
        return torch.load(Path(path), weights_only=True, map_location=device)
    except FileNotFoundError as exc:
        raise CheckpointError(f"no checkpoint at {path}") from exc
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc


def read_weights(
    path: str | Path, device: torch.device | str = "cpu", archs: tuple[str, ...] = CONTINUATION_ARCHS
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the checkpoint, its config with its arch) at `path`, checked: a liveai
    checkpoint of one of `archs`, with this codec's vocabulary; its weights not yet in
    any model."""
    ckpt = read_checkpoint(path, device)
    for key in ("config", "model", "vocab"):
        if key not in ckpt:
            raise CheckpointError(f"{path}: not a liveai checkpoint (no {key!r})")
    config = dict(ckpt["config"])
    arch = str(config.pop("arch", None))
    if arch not in archs:
        raise CheckpointError(f"{path}: a {arch} model, where a {' or '.join(archs)} is needed")
    if ckpt["vocab"] != vocab_of(arch, config):
        raise CheckpointError(f"{path}: vocabulary {ckpt['vocab'].get('name')!r} does not match this codec")
    return ckpt, {"arch": arch, **config}


def load_checkpoint(
    path: str | Path, device: torch.device | str = "cpu", archs: tuple[str, ...] = CONTINUATION_ARCHS
) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode on `device`, info) where info = {"config", "vocab", "train_info", "path"};
    `archs`: the kinds of model the caller can use."""
    ckpt, config = read_weights(path, device, archs)
    arch = config.pop("arch")
    model = build_model(arch, config)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit the {arch} config: {exc}") from exc
    model.to(device).eval()
    info = {
        "config": ckpt["config"],
        "vocab": ckpt["vocab"],
        "train_info": ckpt.get("train_info", {}),
        "path": str(path),
    }
    return model, info
