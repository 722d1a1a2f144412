"""Under torchrun the ranks stop together: a stop one rank decides alone (its signal,
its clock, the patience only the evaluating rank knows) would leave the others waiting
in DDP's next all-reduce for ever. Two real ranks (torchrun, gloo on the CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RANKS = r"""
import json, os, sys
import numpy as np
import torch
import torch.distributed as dist
from liveai.learn.loop import Loop, LoopState, Schedule, make_optimizer
from liveai.models.checkpoint import build_model

torch.set_num_threads(1)
dist.init_process_group("gloo")
rank = dist.get_rank()
rng = np.random.default_rng(rank)
torch.manual_seed(0)
gru = build_model("gru", {"hidden": 8, "layers": 1, "dropout": 0.0})
model = torch.nn.parallel.DistributedDataParallel(gru)
results = {}

def run(name, stop=lambda: False, minutes=0.0, evaluate=lambda: None, patience=0):
    batch = lambda: rng.integers(0, 300, (2, 17))
    loop = Loop(model, make_optimizer(model, 1e-3, 0.0), Schedule(1e-3, 1e-4, 1, 60, minutes=minutes), batch,
                evaluate, lambda state, value, improved: None, torch.device("cpu"), eval_every=4, log_every=2,
                patience=patience, stop=stop)
    state = loop.run(LoopState())
    results[name] = [state.step, state.stopped_by]

# rank 1 alone is asked to stop after its third step
seen = {"n": 0}
def asked():
    seen["n"] += 1
    return rank == 1 and seen["n"] >= 3
run("signal", stop=asked)
# rank 1's clock has run out from the start; rank 0 has all the time it wants
run("minutes", minutes=1e-9 if rank == 1 else 0.0)
# only rank 0 evaluates (as scripts/train_continuation.py): its patience ends at the second evaluation
scores = iter([3.0, 3.5, 3.6, 3.7])
run("patience", evaluate=(lambda: next(scores)) if rank == 0 else (lambda: None), patience=1)
with open(os.path.join(sys.argv[1], f"rank{rank}.json"), "w") as out:  # a file each: printed lines interleave
    json.dump({"rank": rank, **results}, out)
dist.destroy_process_group()
"""


def test_every_rank_stops_at_the_same_step_for_the_same_reason(tmp_path: Path):
    script = tmp_path / "ranks.py"
    script.write_text(RANKS)
    torchrun = Path(sys.executable).with_name("torchrun")
    try:
        done = subprocess.run(
            [str(torchrun), "--standalone", "--nproc-per-node", "2", str(script), str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=180,
            env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the ranks did not all stop: one waits in an all-reduce the others left")
    assert done.returncode == 0, done.stderr[-2000:]
    ranks = {r["rank"]: r for r in (json.loads(path.read_text()) for path in tmp_path.glob("rank*.json"))}
    assert set(ranks) == {0, 1}
    assert ranks[0]["signal"] == ranks[1]["signal"] == [4, "signal"]  # agreed at the next even step
    assert ranks[0]["minutes"] == ranks[1]["minutes"] == [2, "minutes"]
    assert ranks[0]["patience"] == ranks[1]["patience"] == [8, "patience"]
