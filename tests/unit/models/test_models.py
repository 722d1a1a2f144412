"""Stepping equals forward, batching equals single sessions, memory stays bounded."""

from __future__ import annotations

import copy

import pytest
import torch

from liveai.models.base import ContinuationModel, TensorState, stack_states
from liveai.models.gru import GRUConfig, GRUModel
from liveai.models.transformer import TransformerConfig, TransformerModel, alibi_slopes

V = 390


def tiny_gru() -> GRUModel:
    torch.manual_seed(0)
    return GRUModel(GRUConfig(hidden=32, layers=2, dropout=0.0)).eval()


def tiny_transformer(window: int = 16) -> TransformerModel:
    torch.manual_seed(0)
    m = TransformerModel(
        TransformerConfig(d_model=32, n_layers=2, n_heads=4, d_ff=64, window=window, dropout=0.0)
    )
    # Larger random weights than the GPT init so attention is far from uniform and a
    # wrong mask or position would show up in the logits.
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0, 0.3)
    return m.eval()


MODELS = {"gru": tiny_gru, "transformer": tiny_transformer}


def step_all(model: ContinuationModel, tokens: torch.Tensor) -> torch.Tensor:
    state = model.init_state(tokens.shape[0])
    out = []
    for t in range(tokens.shape[1]):
        logits, state = model.step(tokens[:, t], state)
        out.append(logits)
    return torch.stack(out, dim=1)  # (B, T, V)


@pytest.mark.parametrize("arch", MODELS)
def test_protocol(arch: str) -> None:
    model = MODELS[arch]()
    assert isinstance(model, ContinuationModel)
    assert isinstance(model.init_state(2), TensorState)


@pytest.mark.parametrize("arch", MODELS)
@torch.no_grad()
def test_step_equals_forward(arch: str) -> None:
    model = MODELS[arch]()
    tokens = torch.randint(0, V, (2, 50), generator=torch.Generator().manual_seed(1))
    full = model(tokens)  # (B, T, V); T = 50 > window 16 for the transformer
    assert full.shape == (2, 50, V)
    torch.testing.assert_close(step_all(model, tokens), full, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("arch", MODELS)
@torch.no_grad()
def test_prefill_chunks_equal_forward(arch: str) -> None:
    model = MODELS[arch]()
    tokens = torch.randint(0, V, (2, 60), generator=torch.Generator().manual_seed(2))
    full = model(tokens)
    state = model.init_state(2)
    outs = []
    for a, b in [(0, 7), (7, 30), (30, 31), (31, 60)]:  # chunks shorter and longer than W
        logits, state = model.prefill(tokens[:, a:b], state)
        outs.append(logits)
    torch.testing.assert_close(torch.cat(outs, dim=1), full, atol=1e-4, rtol=1e-4)
    # and stepping continues correctly after a prefill
    nxt = torch.randint(0, V, (2, 5), generator=torch.Generator().manual_seed(3))
    full2 = model(torch.cat([tokens, nxt], dim=1))[:, 60:]
    stepped = []
    for t in range(5):
        logits, state = model.step(nxt[:, t], state)
        stepped.append(logits)
    torch.testing.assert_close(torch.stack(stepped, 1), full2, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("arch", MODELS)
@torch.no_grad()
def test_batched_sessions_equal_single(arch: str) -> None:
    """Sessions at different positions, stacked for one step and split again."""
    model = MODELS[arch]()
    g = torch.Generator().manual_seed(4)
    histories = [torch.randint(0, V, (1, n), generator=g) for n in (3, 20, 41)]
    singles = []
    for h in histories:
        _, s = model.prefill(h, model.init_state(1))
        singles.append(s)
    batched = stack_states([s.clone() for s in singles])
    assert batched.batch_size == 3
    nxt = torch.randint(0, V, (3, 4), generator=g)
    for t in range(4):
        logits_b, batched = model.step(nxt[:, t], batched)
        for i in range(3):
            logits_i, singles[i] = model.step(nxt[i : i + 1, t], singles[i])
            torch.testing.assert_close(logits_b[i : i + 1], logits_i, atol=1e-5, rtol=1e-5)
    # split back: row i continues exactly like the single session
    for i in range(3):
        row = batched.select(i)
        tok = torch.tensor([7])
        torch.testing.assert_close(model.step(tok, row)[0], model.step(tok, singles[i].clone())[0])


@pytest.mark.parametrize("arch", MODELS)
def test_state_replace_and_to(arch: str) -> None:
    model = MODELS[arch]()
    with torch.no_grad():
        _, a = model.prefill(torch.tensor([[1, 2, 3]]), model.init_state(1))
        both = model.init_state(2)
        both.replace(1, a)
        torch.testing.assert_close(
            model.step(torch.tensor([5]), both.select(1))[0], model.step(torch.tensor([5]), a)[0]
        )
    moved = both.to("cpu")
    assert moved.device.type == "cpu" and moved.nbytes() == both.nbytes()


def test_select_is_a_copy() -> None:
    model = tiny_transformer()
    both = model.init_state(2)
    row = both.select(0)
    with torch.no_grad():
        model.step(torch.tensor([3]), row)
    assert both.k.abs().sum() == 0 and int(both.pos[0]) == 0


def test_alibi_slopes() -> None:
    s = alibi_slopes(4)
    torch.testing.assert_close(s, torch.tensor([2**-2, 2**-4, 2**-6, 2**-8]))
    assert len(alibi_slopes(6)) == 6


@torch.no_grad()
def test_transformer_far_positions_match_near() -> None:
    """ALiBi depends on distance only: a session at position 10**9 behaves like one at W."""
    model = tiny_transformer(window=8)
    tokens = torch.randint(0, V, (1, 20), generator=torch.Generator().manual_seed(5))
    s1 = model.init_state(1)
    s2 = model.init_state(1)
    s2.pos += 10**9 - (10**9 % 8)  # same ring alignment, far away
    for t in range(20):
        l1, s1 = model.step(tokens[:, t], s1)
        l2, s2 = model.step(tokens[:, t], s2)
    torch.testing.assert_close(l1, l2)


@torch.inference_mode()
def test_transformer_memory_bounded_after_100k_positions() -> None:
    """Fast variant: prefill 100,000 tokens in chunks, then step; the state never grows."""
    model = TransformerModel(
        TransformerConfig(d_model=8, n_layers=1, n_heads=2, d_ff=16, window=16, dropout=0.0)
    )
    model.eval()
    state = model.init_state(1)
    before = state.nbytes()
    g = torch.Generator().manual_seed(6)
    for _ in range(100):
        _, state = model.prefill(torch.randint(0, V, (1, 1000), generator=g), state)
        assert state.nbytes() == before
    for _ in range(100):
        logits, state = model.step(torch.tensor([1]), state)
    assert state.nbytes() == before and int(state.pos[0]) == 100_100
    assert torch.isfinite(logits).all()


@torch.inference_mode()
def test_transformer_memory_bounded_and_the_same_a_billion_tokens_on() -> None:
    """Weeks of playing: the KV ring never grows, and a position far on (shifted by whole
    windows, so the ring's slots are the same) gives the same answer as a near one."""
    torch.manual_seed(0)
    model = TransformerModel(
        TransformerConfig(d_model=8, n_layers=1, n_heads=2, d_ff=16, window=16, dropout=0.0)
    )
    model.eval()
    state = model.init_state(1)
    before = state.nbytes()
    tokens = [torch.tensor([i * 7 % 50]) for i in range(2_100)]  # varied: the attention's weights matter
    for tok in tokens[:2_000]:  # the ring wraps 125 times
        logits, state = model.step(tok, state)
    assert state.nbytes() == before and int(state.pos[0]) == 2_000
    far = copy.deepcopy(state)
    far.pos += 16 * 62_500_000  # a billion tokens on, the same slots
    for tok in tokens[2_000:]:
        near_logits, state = model.step(tok, state)
        far_logits, far = model.step(tok, far)
        torch.testing.assert_close(far_logits, near_logits)
    assert far.nbytes() == before and torch.isfinite(far_logits).all()


@pytest.mark.parametrize("arch", MODELS)
@pytest.mark.parametrize("int8", [False, True], ids=["float", "int8"])
@torch.no_grad()
def test_scripted_model_equals_python(arch: str, int8: bool) -> None:
    """The live path compiles step and prefill with TorchScript (GIL-free); same numbers."""
    from liveai.runtime.quantize import quantize_int8
    from liveai.runtime.scripted import ScriptedModel, script_for_live

    model = MODELS[arch]()
    if int8:
        model = quantize_int8(model)
    live = script_for_live(model)
    assert isinstance(live, ScriptedModel)  # compiled, not the Python fallback
    g = torch.Generator().manual_seed(5)
    prime, nxt = torch.randint(0, V, (3, 40), generator=g), torch.randint(0, V, (3, 6), generator=g)
    want_prime, want_state = model.prefill(prime, model.init_state(3))
    got_prime, got_state = live.prefill(prime, live.init_state(3))
    torch.testing.assert_close(got_prime, want_prime, atol=1e-5, rtol=1e-5)
    for t in range(6):  # batched steps, then one session alone
        want, want_state = model.step(nxt[:, t], want_state)
        got, got_state = live.step(nxt[:, t], got_state)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    want, _ = model.step(nxt[:1, 0], want_state.select(1))
    got, _ = live.step(nxt[:1, 0], got_state.select(1))
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("scripted", [False, True], ids=["python", "scripted"])
@torch.no_grad()
def test_gru_rows_of_different_lengths_equal_each_alone(scripted: bool) -> None:
    """Sessions with token lists of different lengths fed in one padded call."""
    from liveai.runtime.scripted import ScriptedModel, script_for_live

    model = script_for_live(tiny_gru()) if scripted else tiny_gru()
    assert isinstance(model, ScriptedModel) == scripted
    g = torch.Generator().manual_seed(6)
    starts = [
        model.prefill(torch.randint(0, V, (1, n), generator=g), model.init_state(1))[1] for n in (2, 9, 4)
    ]
    lists = [torch.randint(0, V, (n,), generator=g) for n in (1, 5, 3)]
    padded = torch.full((3, 5), 389)
    for i, tokens in enumerate(lists):
        padded[i, : len(tokens)] = tokens
    logits, state = model.prefill_rows(
        padded, torch.tensor([1, 5, 3]), stack_states([s.clone() for s in starts])
    )
    for i, tokens in enumerate(lists):
        want, alone = model.prefill(tokens[None], starts[i])
        torch.testing.assert_close(logits[i], want[0, -1], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(state.select(i).h, alone.h, atol=1e-5, rtol=1e-5)
