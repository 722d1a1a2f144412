"""What every training script does around its loop: torchrun's processes (DDP, NCCL on
CUDA, gloo on the CPU) or one process, the output folder, and one process that speaks
and writes log.jsonl."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import torch
import torch.distributed as dist
from plots import learning_curve

from liveai.models.checkpoint import save_checkpoint  # the scripts put the repository on sys.path first


@dataclass
class Run:
    world: int
    rank: int
    device: torch.device
    out: Path
    log_file: IO[str] | None

    @property
    def main(self) -> bool:
        return self.rank == 0

    def say(self, message: str) -> None:
        if self.main:
            print(message, flush=True)

    def log(self, record: dict[str, Any]) -> None:
        if self.log_file:
            self.log_file.write(json.dumps(record) + "\n")
            self.log_file.flush()

    def evaluated(
        self,
        step: int,
        figures: dict[str, float],
        improved: bool,
        model: Any,
        info: dict[str, Any],
        optimizer: torch.optim.Optimizer,
        bar: Any,
        title: str,
        curves: dict[str, str],
        unit: str = "nats per melody",
    ) -> None:
        """After an evaluation (rank 0): the figures logged and shown, the learning curve
        drawn, last.pt written with the optimizer (to resume), best.pt when it improved."""
        record = {"step": step, **{f"val_{k}": v for k, v in figures.items()}, "best": improved}
        bar.write(json.dumps(record))
        self.log(record)
        learning_curve(
            self.out / "log.jsonl", self.out / "learning_curve.png", title=title, keys=curves, unit=unit
        )
        save_checkpoint(self.out / "last.pt", model, info, extra={"optimizer": optimizer.state_dict()})
        if improved:
            save_checkpoint(self.out / "best.pt", model, info)

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.log_file:
            self.log_file.close()
        if self.world > 1:
            dist.destroy_process_group()


def start_run(device: str, threads: int, out: Path) -> Run:
    """The run under torchrun (WORLD_SIZE, RANK, LOCAL_RANK) or alone: torch threads set,
    the process group joined, `out` made, and rank 0's log.jsonl open for appending."""
    torch.set_num_threads(threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    where = torch.device(device)
    if world > 1:
        if where.type == "cuda":
            where = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(where)
        dist.init_process_group(backend="nccl" if where.type == "cuda" else "gloo")
    out.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "log.jsonl", "a") if rank == 0 else None  # noqa: SIM115 (kept open for the run)
    return Run(world, rank, where, out, log_file)
