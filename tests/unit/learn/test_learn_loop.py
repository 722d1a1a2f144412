"""The shared training loop's pieces `liveai learn` relies on: the pull toward the base
weights (L2-SP), the replay mix, the schedule and the stops, and the words both learns
(the continuation model and the morph VAE) report them in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from liveai.data.corpus import PERFORMANCE, Piece
from liveai.data.shards import build_split, save_split
from liveai.learn.loop import (
    Anchor,
    Loop,
    LoopState,
    Schedule,
    forgetting,
    make_optimizer,
    progress,
    stopped_by,
)
from liveai.learn.mix import Mix
from liveai.models import codec
from liveai.models.checkpoint import build_model
from liveai.music.note import Note


def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("gru", {"hidden": 16, "layers": 1, "dropout": 0.0})


def test_l2sp_is_half_the_strength_times_the_squared_distance_from_the_base():
    model = tiny()
    anchor = Anchor(model, strength=0.5)
    assert float(anchor.penalty(model).detach()) == 0.0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    n = sum(p.numel() for p in model.parameters())
    assert abs(float(anchor.penalty(model).detach()) - 0.5 * 0.5 * n * 0.01) < 1e-3 * n
    anchor.penalty(model).backward()
    grad = next(model.parameters()).grad
    assert grad is not None and torch.allclose(grad, torch.full_like(grad, 0.5 * 0.1))  # back toward the base


def player_pieces() -> list[Piece]:
    rows = np.array([[i * 0.25, i * 0.25 + 0.2, 60 + i % 12, 80] for i in range(300)], np.float64)
    return [Piece("mine.mid", PERFORMANCE, rows)]


def corpus(tmp_path: Path) -> Path:
    # a corpus of one pitch only (100), unlike anything the player plays
    tokens = codec.encode_notes(
        [Note(i * 0.5, i * 0.5 + 0.4, 100, 64) for i in range(2000)], start_token=True
    )
    save_split(tmp_path, "train", build_split([tokens]))
    return tmp_path


def pitches(row: np.ndarray) -> set[int]:
    return {n.pitch for n in codec.decode_tokens(row.tolist())}


def test_the_replay_share_of_each_batch_comes_from_the_corpus(tmp_path: Path):
    mix = Mix(player_pieces(), 64, 8, seed=1, replay=corpus(tmp_path), replay_share=0.25)
    batch = mix.batch()
    assert batch.shape == (8, 65) and mix.replayed == 2
    # 100, transposed
    replayed = [r for r in batch if pitches(r) and all(p in range(95, 107) for p in pitches(r))]
    assert len(replayed) == 2 and all((r == batch[6]).all() or (r == batch[7]).all() for r in replayed)
    alone = Mix(player_pieces(), 64, 8, seed=1).batch()
    assert not any(all(p >= 95 for p in pitches(r)) for r in alone)  # without --replay: the player's only


def test_the_schedule_warms_up_then_ends_its_cosine_at_the_steps_or_the_minutes():
    s = Schedule(lr=1.0, min_lr=0.1, warmup=10, steps=110)
    assert s.lr_at(0) == 0.1 and s.lr_at(9) == 1.0
    assert abs(s.lr_at(60) - 0.55) < 1e-9 and abs(s.lr_at(110) - 0.1) < 1e-9
    timed = Schedule(lr=1.0, min_lr=0.1, warmup=10, steps=10**9, minutes=1.0)
    assert (
        abs(timed.lr_at(20, elapsed_s=30.0) - 0.55) < 1e-9
        and abs(timed.lr_at(20, elapsed_s=60.0) - 0.1) < 1e-9
    )


def loop(
    model: torch.nn.Module, scores: list[float], **kw: object
) -> tuple[Loop, list[tuple[int, float, bool]]]:
    seen: list[tuple[int, float, bool]] = []
    mix = Mix(player_pieces(), 32, 2, seed=0)
    it = iter(scores)
    lp = Loop(
        model,
        make_optimizer(model, 1e-3, 0.0),
        Schedule(1e-3, 1e-4, 1, 1000),
        mix.batch,
        lambda: next(it),
        lambda st, v, imp: seen.append((st.step, v, imp)),
        torch.device("cpu"),
        eval_every=2,
        log_every=2,
        **kw,
    )  # type: ignore[arg-type]
    return lp, seen


def test_patience_stops_once_the_held_out_score_stops_improving():
    lp, seen = loop(tiny(), [3.0, 2.5, 2.6, 2.7, 2.4, 9.0], patience=2)
    state = lp.run(LoopState())
    assert state.stopped_by == "patience" and state.step == 8 and state.best == 2.5
    assert [imp for _, _, imp in seen] == [True, True, False, False]


def test_a_signal_stops_the_loop_after_the_step_it_came_in_keeping_the_best():
    asked = iter([False] * 5 + [True])
    lp, seen = loop(tiny(), [3.0, 2.0, 2.5], stop=lambda: next(asked))
    state = lp.run(LoopState())
    assert state.stopped_by == "signal" and state.step == 6 and state.best == 2.0 and len(seen) == 2


def test_the_loss_is_read_from_the_device_only_when_it_is_reported(monkeypatch):
    # float(loss) every step is a host sync per step under CUDA: the loss is summed on
    # the device and read once a report
    reads = []
    real = torch.Tensor.__float__
    monkeypatch.setattr(torch.Tensor, "__float__", lambda t: reads.append(1) or real(t))
    logged: list[dict[str, float]] = []
    model = tiny()
    lp, _ = loop(model, [3.0] * 5)
    lp.schedule, lp.log_every, lp.eval_every = Schedule(1e-3, 1e-4, 1, 10), 5, 100
    lp.on_log = lambda state, record: logged.append(record)
    state = lp.run(LoopState())
    assert state.step == 10 and len(logged) == 2 and len(reads) == 2
    assert all(0 < r["train_loss"] < 10 and r["train_bits_per_event"] > r["train_loss"] for r in logged)


def test_without_a_process_group_the_stop_is_the_ranks_own_and_with_one_it_is_agreed():
    import torch.distributed as dist

    from liveai.learn.loop import agreed

    assert agreed("minutes", torch.device("cpu")) == "minutes" and agreed("", torch.device("cpu")) == ""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:  # a group of one: the all-reduce runs, and agrees with the rank
        assert [agreed(r, torch.device("cpu")) for r in ("", "patience", "signal")] == [
            "",
            "patience",
            "signal",
        ]
        lp, _ = loop(tiny(), [3.0] * 10, patience=1)
        lp.log_every = 3
        state = lp.run(LoopState())  # evaluated at 2, 4: no improvement at 4, agreed there
        assert state.stopped_by == "patience" and state.step == 4
    finally:
        dist.destroy_process_group()


def test_the_first_ctrl_c_asks_the_learning_to_stop_and_the_second_ends_it():
    import os
    import signal

    import pytest

    from liveai.learn.run import Stop

    def theirs(signum: int, frame: object) -> None:  # the caller's handlers, given back after
        pass

    before = {sig: signal.signal(sig, theirs) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Stop() as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.asked  # the learning stops at its next step, and keeps its weights
            with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C: Python's own, the process ends
                os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is theirs
        assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_both_learns_report_in_the_same_words_with_their_own_score():
    assert stopped_by("patience", "held-out ELBO") == "the held-out ELBO no longer improving"
    assert stopped_by("signal", "validation score") == "a signal (Ctrl-C or SIGTERM)"
    assert forgetting(0.0, None, 0.25) == "none (learn.l2sp = 0, no --replay)"
    assert forgetting(0.01, "data/corpus", 0.25) == (
        "L2-SP toward the base weights (strength 0.01) and 25% of each batch replayed from data/corpus"
    )
    assert (
        forgetting(0.01, None, 0.25, " per step, x32")
        == "L2-SP toward the base weights (strength 0.01 per step, x32)"
    )
    state = LoopState(step=5)
    fresh = progress(state, 10, 0.0, 0.0, "heldout_elbo_nats", None)
    assert fresh["step"] == 5 and fresh["fraction"] == 0.5 and fresh["best_heldout_elbo_nats"] is None
    state.best = 2.5
    scored = progress(state, 10, 0.0, 0.0, "validation_bits", 2.75)
    assert scored["validation_bits"] == 2.75 and scored["best_validation_bits"] == 2.5
