"""A model switch copies new weights into the live model built at startup that is not
playing (int8, TorchScript, warmed up), instead of building one: it must then answer
exactly as a model built in full from the same file, and a file of another size must
be built in full."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
import torch

from liveai.behaviours.registry import Registry
from liveai.config import Config
from liveai.core.engine import Engine
from liveai.live import switch as switch_module
from liveai.live.switch import ModelSwitch
from liveai.models.checkpoint import CheckpointError, build_model, read_weights, save_checkpoint
from liveai.runtime.loading import live_model, load_worker, spare_of
from liveai.runtime.reload import load_into
from liveai.runtime.scripted import ScriptedModel

SIZES = {
    "gru": {"hidden": 32, "layers": 2},
    "transformer": {"d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64, "window": 16},
}
TOKENS = torch.tensor([[1, 60, 300, 188, 62, 290, 64, 301]])


def saved(path: Path, arch: str, seed: int, **sizes) -> Path:
    torch.manual_seed(seed)
    # as shipped: half floats
    save_checkpoint(path, build_model(arch, {**SIZES[arch], **sizes}).eval(), half=True)
    return path


def answers(model) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.inference_mode():
        logits, _ = model.prefill(TOKENS, model.init_state(1))
        step, _ = model.step(TOKENS[0, :2], model.init_state(2))  # two sessions batched
    return logits, step


@pytest.mark.parametrize("arch", ["gru", "transformer"])
def test_weights_loaded_into_a_built_model_answer_as_a_model_built_from_the_file(tmp_path, arch):
    config = Config()  # int8 and TorchScript on this CPU
    first, second = saved(tmp_path / "a.pt", arch, 0), saved(tmp_path / "b.pt", arch, 1)
    _, info, _ = live_model(first, config)
    spare = spare_of(first, info["config"], config)
    assert isinstance(spare.model, ScriptedModel) and spare.fits(read_weights(second)[1])
    before = answers(spare.model)
    checkpoint, _ = read_weights(second)
    load_into(spare, checkpoint)
    full, _, _ = live_model(second, config)
    for got, want, old in zip(answers(spare.model), answers(full), before):
        torch.testing.assert_close(got, want, atol=0, rtol=0)  # exactly: the same int8 weights
        assert not torch.equal(got, old)


def test_a_file_of_another_size_does_not_fit_and_bad_weights_leave_the_model(tmp_path):
    config = Config()
    first = saved(tmp_path / "a.pt", "gru", 0)
    _, info, _ = live_model(first, config)
    spare = spare_of(first, info["config"], config)
    assert not spare.fits(read_weights(saved(tmp_path / "big.pt", "gru", 0, hidden=48))[1])
    assert not spare.fits(read_weights(saved(tmp_path / "t.pt", "transformer", 0))[1])
    assert spare.fits(read_weights(saved(tmp_path / "d.pt", "gru", 3, dropout=0.3))[1])  # training only
    before = answers(spare.model)
    checkpoint, _ = read_weights(saved(tmp_path / "c.pt", "gru", 2))
    checkpoint["model"]["head.weight"] = checkpoint["model"]["head.weight"][:, :16]  # a file that lies
    with pytest.raises(CheckpointError):
        load_into(spare, checkpoint)
    for got, want in zip(answers(spare.model), before):
        torch.testing.assert_close(got, want, atol=0, rtol=0)


async def test_switches_load_into_the_waiting_model_and_build_another_size_in_full(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = tmp_path / "liveai" / "models"
    start = saved(folder / "start.pt", "gru", 0)
    saved(folder / "mine.pt", "gru", 1)
    saved(folder / "other.pt", "transformer", 2)
    config = Config()
    config.model.continuation = str(start)
    worker = load_worker(config)
    assert worker is not None
    try:
        engine = Engine(config, now=time.monotonic, behaviours=Registry())
        switch = ModelSwitch(config, engine, worker)
        first, spare = worker.stepper.model, worker.spare.model
        built: list[Path] = []
        real = switch_module.live_model
        monkeypatch.setattr(switch_module, "live_model", lambda path, c: built.append(path) or real(path, c))

        async def to(name: str) -> None:
            done = asyncio.get_running_loop().create_future()
            switch.switch(name, done=done.set_result)
            assert await asyncio.wait_for(done, 30) is True

        caplog.set_level(logging.INFO, logger="liveai.live.switch")
        await to("mine")
        assert worker.stepper.model is spare and not built  # loaded, not built
        torch.testing.assert_close(answers(spare)[0], answers(live_model(folder / "mine.pt", config)[0])[0])
        await to("start")
        assert worker.stepper.model is first and not built  # the one let go took the next weights
        torch.testing.assert_close(answers(first)[0], answers(live_model(start, config)[0])[0])
        await to("other")
        assert built == [folder / "other.pt"] and worker.stepper.model not in (first, spare)
        assert "built in full" in caplog.text and "a transformer" in caplog.text
        await to("mine")  # back to a GRU: the one let go last (start's) takes it
        assert worker.stepper.model is first and len(built) == 1
        switch.close()
    finally:
        worker.close()
