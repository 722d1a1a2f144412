"""The worker: jobs (token jobs and plain calls) on one thread, resident per-session
states in the token stepper, batched steps."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import torch

from liveai.models.checkpoint import build_model
from liveai.runtime.device import choose_device
from liveai.runtime.scripted import script_for_live
from liveai.runtime.stepper import TokenStepper
from liveai.runtime.worker import Worker


def tiny(arch: str):
    torch.manual_seed(0)
    config = (
        {"hidden": 32, "layers": 1}
        if arch == "gru"
        else {"d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64, "window": 16}
    )
    return build_model(arch, config).eval()


def feed_all(tokens):
    """A job: feed tokens one by one, return every logits row."""
    rows = []
    for t in tokens:
        rows.append((yield t).clone())
    return rows


@pytest.fixture(params=["gru", "transformer", "gru-scripted"])
def worker(request):
    """The Python models, and the GRU compiled as the server runs it (lists of several
    sessions in one padded call)."""
    arch = request.param.removesuffix("-scripted")
    model = tiny(arch) if arch == request.param else script_for_live(tiny(arch))
    r = Worker(TokenStepper(model, name=arch))
    r.start(warmup_steps=3)
    yield r
    r.close()


def test_state_persists_between_jobs_of_a_session(worker):
    tokens = [388, 60, 300, 188, 62, 290]
    whole = worker.submit("a", feed_all(tokens)).result(5)
    worker.reset("a")
    first = worker.submit("a", feed_all(tokens[:3])).result(5)
    second = worker.submit("a", feed_all(tokens[3:])).result(5)
    for got, want in zip(first + second, whole):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_sessions_are_independent_and_batched(worker):
    a_tokens, b_tokens = [388, 60, 300, 188], [388, 72, 260, 200]
    alone_a = worker.submit("solo-a", feed_all(a_tokens)).result(5)
    alone_b = worker.submit("solo-b", feed_all(b_tokens)).result(5)
    before = worker.stats()[f"model_{worker.name}_steps"]
    with worker._owner:  # the idle thread waits here with "a" taken, so "b" joins it, whatever the load
        fa, fb = worker.submit("a", feed_all(a_tokens)), worker.submit("b", feed_all(b_tokens))
    for got, want in zip(fa.result(5) + fb.result(5), alone_a + alone_b):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    stats = worker.stats()
    assert stats[f"model_{worker.name}_steps"] - before < 2 * len(a_tokens)  # some steps served both


def test_a_list_is_prefilled_in_one_step(worker):
    tokens = [388, 60, 300, 188, 62]
    stepped = worker.submit("s", feed_all(tokens)).result(5)[-1]

    def prefill_job():
        return (yield tokens).clone()

    prefilled = worker.submit("p", prefill_job()).result(5)
    torch.testing.assert_close(prefilled, stepped, atol=1e-4, rtol=1e-4)


def test_reset_forgets_the_state(worker):
    first = worker.submit("r", feed_all([388, 60])).result(5)
    worker.reset("r")
    again = worker.submit("r", feed_all([388, 60])).result(5)
    torch.testing.assert_close(first[-1], again[-1])


def test_a_failing_job_does_not_stop_the_worker(worker):
    def broken():
        yield 60
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        worker.submit("x", broken()).result(5)
    assert len(worker.submit("x", feed_all([61])).result(5)) == 1


def test_cancelled_jobs_are_dropped(worker):
    gate = threading.Event()

    def slow():
        while not gate.is_set():
            yield 60
        return "done"

    blocker = worker.submit("c", slow())
    later = worker.submit("c", feed_all([60]))
    later.cancel()
    gate.set()
    assert blocker.result(5) == "done"
    assert later.cancelled()
    assert worker.submit("c", feed_all([60])).result(5)  # the session still works


async def test_results_reach_the_loop_without_blocking_it(worker):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    rows = await asyncio.wrap_future(worker.submit("loop", feed_all(list(range(200)))))
    task.cancel()
    assert len(rows) == 200 and ticks > 1


def test_stats_report_step_times(worker):
    worker.submit("s", feed_all([60] * 10)).result(5)
    stats = worker.stats()
    assert stats[f"model_{worker.name}_steps"] >= 10
    assert 0 < stats[f"model_{worker.name}_step_p50_ms"] <= stats[f"model_{worker.name}_step_p99_ms"]
    assert stats[f"model_{worker.name}_device"] == "cpu"


def test_device_choice_on_this_machine():
    assert choose_device("auto").type in ("cuda", "mps", "cpu")
    assert choose_device("cpu").type == "cpu"


def test_sessions_with_different_histories_batch_correctly(worker):
    """Rows at different positions (a Transformer's KV ring, a GRU's hidden state) step together."""
    history_a, history_b = (
        [388, 60, 300, 188, 62, 290, 190, 64, 300, 192, 65, 280, 193, 67, 270, 195, 69, 260],
        [388, 72],
    )
    tail_a, tail_b = [300, 200, 71], [260, 72 + 128, 74]
    solo = {}
    for name, history, tail in (("a", history_a, tail_a), ("b", history_b, tail_b)):
        solo[name] = worker.submit(f"solo-{name}", feed_all(history + tail)).result(5)[-len(tail) :]
    worker.submit("a", feed_all(history_a)).result(5)
    worker.submit("b", feed_all(history_b)).result(5)
    fa, fb = worker.submit("a", feed_all(tail_a)), worker.submit("b", feed_all(tail_b))
    for got, want in zip(fa.result(5) + fb.result(5), solo["a"] + solo["b"]):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_peek_gives_the_logits_after_the_last_token(worker):
    from liveai.core.jobs import PEEK

    def peek():
        return (yield PEEK).clone()

    fed = worker.submit("k", feed_all([388, 60, 300])).result(5)
    before = worker.stats()[f"model_{worker.name}_steps"]
    torch.testing.assert_close(worker.submit("k", peek()).result(5), fed[-1])
    assert worker.stats()[f"model_{worker.name}_steps"] == before  # no step was needed
    fresh = worker.submit("new", peek()).result(5)  # nothing fed yet: START first
    torch.testing.assert_close(fresh, worker.submit("other", feed_all([388])).result(5)[0])


def test_int8_quantized_model_steps_like_float():
    from liveai.runtime.quantize import quantize_int8

    for arch in ("gru", "transformer"):
        model = tiny(arch)
        quantized = quantize_int8(model)
        assert quantized is not model
        tokens = [388, 60, 300, 188, 62]
        r1, r2 = Worker(TokenStepper(model, "f")), Worker(TokenStepper(quantized, "q"))
        r1.start(warmup_steps=2)
        r2.start(warmup_steps=2)
        try:
            a = r1.submit("s", feed_all(tokens)).result(5)
            b = r2.submit("s", feed_all(tokens)).result(5)
        finally:
            r1.close()
            r2.close()
        for x, y in zip(a, b):
            assert (x - y).abs().max() < 0.1


def test_lists_of_several_sessions_are_fed_together_like_alone(worker):
    """Short token lists of waiting sessions are fed together (in one padded call, or a
    token at a time in lockstep), with the logits and states of each session alone."""

    def feed_lists(lists):
        out = []
        for tokens in lists:
            out.append((yield tokens).clone())
        return out

    plans = {
        "a": [[388, 60, 300], [188, 62], [290, 190, 64, 300]],
        "b": [[388, 72], [260, 200, 74, 300, 202]],
        "c": [[388], [50, 51, 52, 53, 54, 55, 56, 57, 58, 59]],
    }  # the last list is long: prefilled alone
    alone = {
        name: worker.submit(f"alone-{name}", feed_lists(lists)).result(5) for name, lists in plans.items()
    }
    steps_before = len(worker.stepper.timings.batch)
    worker.submit("z", lambda: time.sleep(0.2))  # holds the thread while the three arrive together
    together = {name: worker.submit(name, feed_lists(lists)) for name, lists in plans.items()}
    for name, future in together.items():
        for got, want in zip(future.result(5), alone[name]):
            torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    batches = list(worker.stepper.timings.batch)[steps_before:]
    assert (
        max(batches) > 1
    ) == worker.stepper.batches  # the GRU served them together; the Transformer never batches


def test_a_job_cancelled_as_it_finishes_does_not_stop_the_worker(worker):
    """The loop may give up on a job (a harmony answer past its budget) at the very
    moment the worker finishes it: the worker must go on serving every session."""
    futures = {}

    def cancelled_at_its_end():
        yield 388
        futures["it"].cancel()  # as the loop would, from its thread, just now
        return "too late"

    futures["it"] = worker.submit("s", cancelled_at_its_end())
    logits = worker.submit("s", feed_all([60, 300])).result(5)
    assert futures["it"].cancelled() and len(logits) == 2


def test_a_step_that_fails_fails_its_job_and_the_worker_goes_on(worker):
    """A token the model cannot take (out of its vocabulary) fails that job alone."""
    bad = worker.submit("s", feed_all([388, 10**6]))
    with pytest.raises(Exception):  # noqa: B017 - whatever the model raises, the job alone fails
        bad.result(5)
    assert len(worker.submit("s", feed_all([388, 60])).result(5)) == 2
    assert len(worker.submit("other", feed_all([388])).result(5)) == 1


def test_a_call_runs_on_the_worker_thread_in_its_session_order(worker):
    """Work that is not token by token (a VAE encode, say) runs on the same thread,
    after what its session queued before it."""
    import threading

    fed = worker.submit("c", feed_all([388, 60]))
    thread = worker.submit("c", lambda: (threading.current_thread().name, fed.done())).result(5)
    assert thread == (f"model-{worker.name}", True)
    with pytest.raises(ZeroDivisionError):
        worker.submit("c", lambda: 1 / 0).result(5)
    assert len(worker.submit("c", feed_all([61])).result(5)) == 1  # a failing call fails alone


def test_a_full_inbox_refuses_jobs_at_once(monkeypatch):
    """A stuck worker must not pile up jobs (and memory) without bound: past the limit a
    job fails at once, counted."""
    from liveai.runtime import worker as worker_module

    monkeypatch.setattr(worker_module, "INBOX_LIMIT", 3)
    w = Worker(TokenStepper(tiny("gru"), name="gru"))  # never started: nothing takes from its inbox
    futures = [w.submit("s", feed_all([60])) for _ in range(5)]
    assert [f.done() for f in futures] == [False, False, False, True, True]
    with pytest.raises(worker_module.WorkerBusy):
        futures[-1].result(0)
    assert w.stats()["model_gru_refused"] == 2
