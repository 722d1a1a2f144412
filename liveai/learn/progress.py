"""What a learn tells while it runs: JSON lines on stdout (`--progress json`, for a
parent process) or a tqdm bar with an ETA (`--progress bar`, on a terminal)."""

from __future__ import annotations

import json
import sys
from typing import Any

from tqdm import tqdm


class Progress:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.bar: tqdm | None = None

    def __call__(self, record: dict[str, Any]) -> None:
        if self.mode == "json":
            print(json.dumps(record), flush=True)
            return
        stage = record["stage"]
        if stage == "learning":
            if self.bar is None:
                desc = f"learning {record.get('model', '')}".rstrip()  # "learning vae": the second part
                self.bar = tqdm(
                    total=1000,
                    desc=desc,
                    unit="‰",
                    bar_format=("{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]{postfix}"),
                    file=sys.stderr,
                )
            done = int(1000 * record.get("fraction", 0.0))
            self.bar.update(max(0, done - self.bar.n))
            shown = {"step": record["step"]}
            if record.get("best_validation_bits") is not None:  # the figure the learn keeps
                shown["validation bits/event"] = record["best_validation_bits"]
            if record.get("best_heldout_elbo_nats") is not None:  # the morph VAE's (learn --vae)
                shown["held-out ELBO nats"] = record["best_heldout_elbo_nats"]
            self.bar.set_postfix(shown)
        elif stage == "done":
            self.close()
            print(json.dumps(record, indent=2), flush=True)
        else:
            self.close()
            print(f"liveai learn: {stage} {_brief(record)}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _brief(record: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in record.items() if k != "stage")
