#!/usr/bin/env python
"""Markdown tables from `liveai bench` JSON, for docs/figures.md and the model card.

.venv/bin/python scripts/bench_tables.py runs/bench/transport.json runs/bench/play.json runs/bench/models.json
"""

from __future__ import annotations

import json
import sys
from typing import Any


def ms(fig: dict[str, Any]) -> str:
    return " / ".join(
        f"{fig[k]:.2f}" if fig[k] < 100 else f"{fig[k]:.0f}"
        for k in ("p50_ms", "p99_ms", "p999_ms", "max_ms")
    )


def round_trips(
    title: str, rows: dict[str, dict[str, Any]], floor: dict[str, dict[str, Any]] | None = None
) -> None:
    print(f"\n{title}\n")
    head = "| rate | p50 / p99 / p99.9 / max ms | lost | deadline misses |"
    print(head + (" floor p50 / p99 / p99.9 / max ms | floor lost |" if floor else ""))
    print("|---" * (4 + (2 if floor else 0)) + "|")
    for rate, fig in rows.items():
        line = f"| {rate} | {ms(fig)} | {fig['lost']} of {fig['sent']} | {fig.get('deadline_misses', '-')} |"
        if floor:
            line += f" {ms(floor[rate])} | {floor[rate]['lost']} |"
        print(line)


def transport(report: dict[str, Any]) -> None:
    for name, floor_key in (("osc", "floor_python_osc_echo"), ("midi", "floor_mido_echo")):
        if name in report:
            part = report[name]
            status = part["server_status_after"]
            round_trips(
                f"**{name.upper()}**, rule harmonizer (server's own handling: p50 "
                f"{status['latency_p50_ms']:.2f} ms, "
                f"p99 {status['latency_p99_ms']:.2f} ms)",
                part["liveai_harmonize"],
                part[floor_key],
            )


def play(report: dict[str, Any]) -> None:
    for model in ("gru", "transformer"):
        if model not in report:
            continue
        entry = report[model]
        round_trips(f"**{model}**, harmonize over OSC (int8)", entry["harmonize_osc"])
        if "harmonize_jack_midi" in entry:
            round_trips(f"**{model}**, harmonize over JACK MIDI", entry["harmonize_jack_midi"])
        duet, ping = entry["duet_gap_to_first_note"], entry["ping_while_answering"]
        print(
            f"\n{model}: duet, end of the phrase gap to the first answer note: {ms(duet)} ms "
            f"({duet['answered']} phrases); ping while a long answer is generated: {ms(ping)} ms "
            f"({ping['answered']} of {ping['sent']} answered)"
        )
    if "sessions_gru" in report:
        round_trips(
            "**gru**, concurrent sessions (separate OSC clients, 50 notes/s each)", report["sessions_gru"]
        )


def models(report: dict[str, Any]) -> None:
    print(
        "\n| model | weights | per event p50 / p99 ms | ... with a busy Python thread | cached step at 128 "
        "/ 512 / 1024 ms | recompute ms | speedup | batched 1 / 4 / 16: ms per step |"
    )
    print("|---" * 8 + "|")
    for name, m in report["models"].items():
        c, b = m["cached_vs_recompute"], m["batched_step"]
        busy = m.get("per_event_loop_busy")
        busy_ms = f"{busy['p50_ms']:.2f} / {busy['p99_ms']:.2f}" if busy else "-"
        print(
            f"| {name.split()[0]} | {m['weights']} | {m['per_event']['p50_ms']:.2f} / "
            f"{m['per_event']['p99_ms']:.2f} | {busy_ms} | "
            + " / ".join(f"{c[n]['cached_step_ms']:.2f}" for n in ("128", "512", "1024"))
            + " | "
            + " / ".join(f"{c[n]['recompute_ms']:.1f}" for n in ("128", "512", "1024"))
            + " | "
            + " / ".join(f"{c[n]['speedup']:.0f}x" for n in ("128", "512", "1024"))
            + " | "
            + " / ".join(f"{b[n]['mean_ms']:.2f}" for n in ("1", "4", "16"))
            + " |"
        )


def main(paths: list[str]) -> int:
    for path in paths:
        with open(path) as f:
            report = json.load(f)
        machine = report.get("machine", {})
        print(f"\n<!-- {path}: {machine.get('cpu')}, {machine.get('cores')} cores -->")
        if "osc" in report or "midi" in report:
            transport(report)
        if "play" in report:
            play(report["play"])
        if "models" in report:
            models(report["models"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
