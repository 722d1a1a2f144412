"""`liveai bench`: the one benchmark its flags ask for, as a report to print as JSON."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import LiveaiError
from .harness import machine
from .transport import run_benchmarks


def bench_report(args: argparse.Namespace) -> dict[str, Any]:
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    report: dict[str, Any] = {"machine": machine()}
    if args.soak:
        from .soak import bench_soak

        report["soak"] = bench_soak(args.soak)
    elif args.morph:
        from .morph import bench_morph

        report["morph"] = bench_morph(args.seconds, midi=args.midi)
    elif args.link:
        from .link import bench_link

        report["link"] = bench_link()
    elif args.jack_kill:
        from .jack_kill import bench_jack_kill

        report["jack_kill"] = bench_jack_kill(args.seconds)
    elif args.flood:
        from .flood import bench_flood

        report["flood"] = bench_flood(args.flood)
    elif args.audio:
        from .audio import bench_audio

        report["audio"] = bench_audio(
            args.seconds, args.model[0] if args.model else None, args.frames, args.idle, args.notes
        )
    elif args.play and args.pages:
        from .stage import bench_stage_cost

        names = [Path(p).stem for p in args.model] or ["gru"]
        report["stage_cost"] = bench_stage_cost(names[0], args.pages, args.seconds)
    elif args.play and args.learn:
        from .learn_live import bench_learn_live

        report["learn_live"] = bench_learn_live(
            Path(args.model[0]).stem if args.model else "gru", args.seconds
        )
    elif args.play:
        from .play import bench_play

        names = [Path(p).stem for p in args.model] or ["gru", "transformer"]
        report["play"] = bench_play(names, args.seconds, midi=args.midi)
    elif args.osc or args.midi or not args.models:
        report.update(
            run_benchmarks(
                osc=args.osc or not args.midi,
                midi=args.midi,
                rates=rates,
                seconds=args.seconds,
                overrides=args.set,
                config_path=args.config,
            )
        )
    if args.models:
        from ..models.shipped import shipped_checkpoints
        from .models import bench_models

        paths = [Path(p) for p in args.model] or shipped_checkpoints()
        if not paths:
            raise LiveaiError("no checkpoints: models/*.pt is empty and no --model was given")
        report["models"] = bench_models(paths)
    return report
