"""New weights on the worker between jobs: jobs before the swap hear the old model,
jobs after it the new one, and each session's state is primed again from what it was
fed lately (never from nothing)."""

from __future__ import annotations

import threading

import pytest
import torch

from liveai.models import codec
from liveai.models.checkpoint import build_model
from liveai.runtime.stepper import HISTORY_TOKENS, TokenStepper
from liveai.runtime.worker import Worker, WorkerBusy


def tiny(seed: int):
    torch.manual_seed(seed)
    return build_model("gru", {"hidden": 32, "layers": 1}).eval()


def feed(tokens):
    logits = None
    for t in tokens:
        logits = (yield t).clone()
    return logits


def peek():
    from liveai.core.jobs import PEEK

    return (yield PEEK).clone()


def primed(model, tokens):
    """The new model's logits after START and these tokens, computed apart."""
    with torch.inference_mode():
        logits, _ = model.prefill(torch.tensor([[codec.START, *tokens]]), model.init_state(1))
    return logits[0, -1]


def test_a_swap_waits_for_the_jobs_before_it_and_reprimes_every_session():
    old, new = tiny(0), tiny(1)
    worker = Worker(TokenStepper(old, name="gru"))
    worker.start(warmup_steps=2)
    try:
        played = {"a": [60, 300, 188, 62, 290], "b": [72, 260, 200]}
        for session, tokens in played.items():
            worker.submit(session, feed(tokens)).result(5)
        gate = threading.Event()
        held = worker.submit("a", lambda: gate.wait(5))  # a job before the swap, still running
        swapped = worker.swap(new)
        after = worker.submit("b", peek())  # submitted after the swap: must hear the new model
        assert not swapped.done()  # the job before it is not finished
        gate.set()
        assert held.result(5) is True
        assert swapped.result(5) == ["a", "b"]
        for session, tokens in played.items():
            want = primed(new, tokens)
            got = worker.submit(session, peek()).result(5)
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(after.result(5), primed(new, played["b"]), atol=1e-5, rtol=1e-5)
    finally:
        worker.close()


def test_the_latest_tokens_prime_the_new_model_and_a_reset_session_none():
    worker = Worker(TokenStepper(tiny(0), name="gru"))
    worker.start(warmup_steps=2)
    try:
        long = [60 + i % 12 for i in range(HISTORY_TOKENS + 40)]
        worker.submit("a", feed(long)).result(5)
        worker.submit("gone", feed([64])).result(5)
        worker.reset("gone").result(5)
        new = tiny(1)
        assert worker.swap(new).result(5) == ["a"]
        want = primed(new, long[-HISTORY_TOKENS:])
        torch.testing.assert_close(worker.submit("a", peek()).result(5), want, atol=1e-5, rtol=1e-5)
    finally:
        worker.close()


def test_the_stepper_gives_back_each_sessions_latest_tokens():
    stepper = TokenStepper(tiny(0), name="gru")

    class Feed:
        def __init__(self, session, feed):
            self.session, self.feed = session, feed

    long = [60 + i % 12 for i in range(HISTORY_TOKENS + 40)]
    with torch.inference_mode():
        stepper.step([Feed("a", long)])
        stepper.step([Feed("a", 300), Feed("b", [72, 260])])  # batched: both remembered
        stepper.step([Feed("c", 64)])
    stepper.forget("c")
    new = tiny(1)
    primes = stepper.replace(new)
    assert primes == {"a": [codec.START, *(long + [300])[-HISTORY_TOKENS:]], "b": [codec.START, 72, 260]}
    assert stepper.model is new and stepper.last_logits("a") is None


def test_states_primed_away_from_the_worker_take_the_notes_fed_since_on_top():
    from liveai.runtime.loading import prime_states

    worker = Worker(TokenStepper(tiny(0), name="gru"))
    worker.start(warmup_steps=2)
    try:
        worker.submit("a", feed([60, 300, 188])).result(5)
        worker.submit("b", feed([72, 260])).result(5)
        snapshot = worker.submit("swap", worker.stepper.snapshot).result(5)
        new = tiny(1)
        primed = prime_states(new, snapshot)
        worker.submit("a", feed([62, 290])).result(5)  # played while the new weights were primed
        worker.reset("b").result(5)  # b forgot: its primed state is stale
        worker.submit("b", feed([64, 65, 66])).result(5)  # more than before: the count alone would not tell
        assert worker.swap(new, primed).result(5) == ["a", "b"]  # a: the two notes since; b: all again
        for session, tokens in (("a", [60, 300, 188, 62, 290]), ("b", [64, 65, 66])):
            torch.testing.assert_close(
                worker.submit(session, peek()).result(5), primed_logits(new, tokens), atol=1e-5, rtol=1e-5
            )
        assert worker.swap(tiny(2), prime_states(new, {})).result(5) == ["a", "b"]
        # the primed state is taken as it is, not computed again on the worker
        worker.submit("c", feed([67, 280])).result(5)
        other, newest = tiny(3), tiny(4)
        snapshot = worker.submit("swap", worker.stepper.snapshot).result(5)
        assert "c" not in worker.swap(newest, prime_states(other, snapshot)).result(5)
        torch.testing.assert_close(
            worker.submit("c", peek()).result(5), primed_logits(other, [67, 280]), atol=1e-5, rtol=1e-5
        )
    finally:
        worker.close()


primed_logits = primed


class Refused(torch.nn.Module):
    """Weights that fail as the stepper takes them (a state it cannot build)."""

    def init_state(self, batch, device=None):
        raise RuntimeError("no state for you")


def test_a_model_the_stepper_refuses_leaves_the_old_one_playing_with_its_states():
    old = tiny(0)
    stepper = TokenStepper(old, name="gru")
    worker = Worker(stepper)
    worker.start(warmup_steps=2)
    try:
        worker.submit("a", feed([60, 300, 188])).result(5)
        want = worker.submit("a", peek()).result(5)
        heard, count, _ = worker.submit("snap", stepper.snapshot).result(5)["a"]
        swapped = worker.swap(Refused(), {"a": (heard, count, tiny(1).init_state(1), torch.zeros_like(want))})
        try:
            swapped.result(5)
        except RuntimeError:
            pass
        assert stepper.model is old
        # the old state, not the primed
        torch.testing.assert_close(worker.submit("a", peek()).result(5), want)
        worker.submit("a", feed([62])).result(5)  # and it still plays
        assert worker.swap(tiny(1)).result(5) == ["a"]  # its history kept: primed again from it
    finally:
        worker.close()


def fed(model, tokens):
    """A model's logits after these tokens from its initial state (no START), computed apart."""
    with torch.inference_mode():
        logits, _ = model.prefill(torch.tensor([tokens]), model.init_state(1))
    return logits[0, -1]


def endless(gate, fed_tokens):
    """A long job (a duet continuation): feeds tokens until the gate opens; the logits after its last."""
    logits = None
    while not gate.is_set():
        fed_tokens.append(60 + len(fed_tokens) % 12)
        logits = (yield fed_tokens[-1]).clone()
    return logits


def test_a_sessions_long_job_holds_back_no_other_session_during_a_swap():
    old, new, newest = tiny(0), tiny(1), tiny(2)
    worker = Worker(TokenStepper(old, name="gru"))
    worker.start(warmup_steps=2)
    try:
        played = {"a": [60, 300, 188], "b": [72, 260, 200]}
        for session, tokens in played.items():
            worker.submit(session, feed(tokens)).result(5)
        gate, more = threading.Event(), []
        long = worker.submit("a", endless(gate, more))
        swapped = worker.swap(new)
        # b's job, and a new session's, are answered on the new weights while a's job still runs
        torch.testing.assert_close(
            worker.submit("b", peek()).result(5), primed(new, played["b"]), atol=1e-5, rtol=1e-5
        )
        torch.testing.assert_close(
            worker.submit("c", feed([64, 290])).result(5), fed(new, [64, 290]), atol=1e-5, rtol=1e-5
        )
        # a second swap during this hand-over is refused at once, and holds back no session's job
        with pytest.raises(WorkerBusy, match="handed over"):
            worker.swap(newest).result(5)
        torch.testing.assert_close(
            worker.submit("b", peek()).result(5), primed(new, played["b"]), atol=1e-5, rtol=1e-5
        )
        assert not long.done() and not swapped.done()
        gate.set()
        a_tokens = played["a"] + more
        # all on the old weights
        torch.testing.assert_close(long.result(5), fed(old, a_tokens), atol=1e-5, rtol=1e-5)
        assert swapped.result(5) == ["a", "b"]
        later = worker.swap(newest)  # the hand-over has ended: taken
        assert later.result(5) == ["a", "b", "c"]
        for session, tokens in (("a", a_tokens[-HISTORY_TOKENS:]), ("b", played["b"]), ("c", [64, 290])):
            torch.testing.assert_close(
                worker.submit(session, peek()).result(5), primed(newest, tokens), atol=1e-5, rtol=1e-5
            )
        assert worker.stepper.model is newest and not worker.stepper.staying
    finally:
        gate.set()
        worker.close()


def test_a_session_reset_during_its_hand_over_starts_on_the_new_weights():
    old, new = tiny(0), tiny(1)
    worker = Worker(TokenStepper(old, name="gru"))
    worker.start(warmup_steps=2)
    try:
        worker.submit("a", feed([60, 300])).result(5)
        gate, more = threading.Event(), []
        long = worker.submit("a", endless(gate, more))
        reset = worker.reset("a")  # after the long job, before the new weights
        swapped = worker.swap(new)
        after = worker.submit("a", feed([64, 290]))
        gate.set()
        long.result(5), reset.result(5)
        assert swapped.result(5) == []  # nothing to feed again: it forgot
        torch.testing.assert_close(after.result(5), fed(new, [64, 290]), atol=1e-5, rtol=1e-5)
    finally:
        gate.set()
        worker.close()
