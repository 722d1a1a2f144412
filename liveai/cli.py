"""The `liveai` command: one small entry point that wires everything."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import sys

from . import __version__
from .config import Config, load_config
from .config.types import AUDIO_PLAY
from .errors import ConfigError, LiveaiError, MidiFileError
from .logs import setup_logging
from .models.shipped import check_model

MODEL_HELP = (
    "gru, transformer, a learned name (liveai learn) or a checkpoint path (default: model.continuation)"
)


def _config_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="TOML file (default: config/default.toml)")
    common.add_argument(
        "--set",
        metavar="SECTION.KEY=VALUE",
        action="append",
        default=[],
        help="override one config value, e.g. --set osc.port=9100 (repeatable)",
    )
    common.add_argument("-v", "--verbose", action="count", default=0, help="more log output (debug)")
    common.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liveai", description="Play music with neural models over OSC, MIDI and MQTT."
    )
    parser.add_argument("--version", action="version", version=f"liveai {__version__}")
    common = _config_options()
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", parents=[common], help="run the live server (until SIGINT/SIGTERM)")
    serve.add_argument(
        "--audio",
        dest="serve_audio",
        nargs="?",
        const="all",
        choices=AUDIO_PLAY,
        metavar="all|model",
        help="play sound with the neural synth: all (your notes and liveai's: with no synth of "
        "your own; the default) or model (liveai's only); = audio.enabled and audio.play",
    )
    sub.add_parser("devices", parents=[common], help="list MIDI backends and ports, and audio devices")
    gen = sub.add_parser("generate", parents=[common], help="continue a MIDI file offline; prints JSON")
    gen.add_argument("--prime", required=True, metavar="MIDI", help="the MIDI file to continue")
    gen.add_argument("--seconds", type=float, default=20.0, help="length of the continuation")
    gen.add_argument("--out", required=True, metavar="MIDI", help="prime + continuation are written here")
    gen.add_argument("--model", help=MODEL_HELP)
    gen.add_argument("--temperature", type=float, default=1.0)
    gen.add_argument("--top-p", type=float, default=0.95)
    gen.add_argument("--seed", type=int, default=None, help="for a reproducible continuation")
    gen.add_argument(
        "--key",
        choices=["follow", "free"],
        default="follow",
        help="follow: stay in the prime's key (default); free: wherever the model goes",
    )
    ev = sub.add_parser(
        "evaluate", parents=[common], help="bits per event of a model on MIDI files; prints JSON"
    )
    ev.add_argument("folder", metavar="MIDI_DIR")
    ev.add_argument("--model", help=MODEL_HELP)
    lrn = sub.add_parser("learn", parents=[common], help="fine-tune a model on a folder of your MIDI files")
    lrn.add_argument("folder", metavar="FOLDER", help="your MIDI files (read recursively)")
    lrn.add_argument(
        "--name", required=True, help="the learned model's name: NAME.pt and NAME.md in the model folder"
    )
    lrn.add_argument(
        "--model",
        help="the model to start from: gru, transformer, a learned name or a checkpoint path "
        "(default: model.continuation)",
    )
    lrn.add_argument(
        "--vae",
        action="store_true",
        help="also fine-tune the morph VAE on the files with a beat grid: "
        "NAME-vae.pt, played with model.morph=NAME-vae",
    )
    lrn.add_argument("--minutes", type=float, help="stop after this long (default: learn.minutes)")
    lrn.add_argument("--steps", type=int, help="stop after this many steps")
    lrn.add_argument("--threads", type=int, help="torch threads (default: learn.threads)")
    lrn.add_argument(
        "--progress", choices=["json", "bar"], help="JSON lines on stdout, or a bar (default on a tty)"
    )
    lrn.add_argument("--model-folder", metavar="DIR", help="where NAME.pt goes (default: model.folder)")
    lrn.add_argument(
        "--replay",
        metavar="DIR",
        help="a prepared corpus (scripts/prepare_data.py) to replay against "
        "forgetting, learn.replay_share of each batch",
    )
    lrn.add_argument("--seed", type=int, default=0)
    ren = sub.add_parser(
        "render", parents=[common], help="play a MIDI file with the synth into a WAV; prints JSON"
    )
    ren.add_argument("midi", metavar="IN.mid", help="the MIDI file to play")
    ren.add_argument("wav", metavar="OUT.wav", help="16-bit mono WAV at the synth's sample rate")
    ren.add_argument(
        "--model", metavar="PATH", help="a synth checkpoint (default: audio.model, the shipped synth)"
    )
    bench = sub.add_parser(
        "bench",
        parents=[common],
        help="measure latency; prints JSON",
        description="Measure liveai as users meet it; prints the figures as JSON (--osc if none is chosen).",
    )
    bench.add_argument(
        "--osc", action="store_true", help="round trip over OSC (default when nothing is chosen)"
    )
    bench.add_argument("--midi", action="store_true", help="round trip over JACK MIDI (needs jackd)")
    bench.add_argument("--models", action="store_true", help="model step latency on one CPU thread")
    bench.add_argument(
        "--play",
        action="store_true",
        help="the server with the shipped models: harmonize, duet, sessions, ping (add --midi for JACK)",
    )
    bench.add_argument(
        "--pages",
        type=int,
        metavar="N",
        default=0,
        help="with --play: harmonize with N stage pages reading the feed against none, in turns "
        "(--seconds each, 3 turns)",
    )
    bench.add_argument(
        "--learn",
        action="store_true",
        help="with --play: harmonize with a learning in the background against without, and weight swaps",
    )
    bench.add_argument(
        "--soak",
        type=float,
        metavar="MINUTES",
        default=0,
        help="harmonize, duet and autopilot at once for this long, watched every minute",
    )
    bench.add_argument(
        "--flood",
        type=int,
        metavar="DATAGRAMS",
        default=0,
        help="a flood of hostile OSC at 4000/s, pinged meanwhile (e.g. --flood 100000)",
    )
    bench.add_argument(
        "--morph",
        action="store_true",
        help="the morph VAE (encode, decode, grid, knob lookup) and the loop's jitter over OSC",
    )
    bench.add_argument(
        "--audio",
        action="store_true",
        help="the synth: RTF on one thread; note -> sound on JACK's clock; the stream under "
        "jackd -d dummy at 256 and 128 frames, two headrooms each, while harmonizing 200 "
        "notes/s (--seconds each)",
    )
    bench.add_argument(
        "--frames", type=int, metavar="N", help="with --audio: this JACK period only, default headroom"
    )
    bench.add_argument("--idle", action="store_true", help="with --audio: the stream with nothing playing")
    bench.add_argument("--notes", type=int, default=60, help="with --audio: notes per note -> sound probe")
    bench.add_argument(
        "--link",
        action="store_true",
        help="Ableton Link with a second peer: beat error against its grid (64 beats at 240 bpm), "
        "a tempo change followed, a tempo proposed (needs liveai[link])",
    )
    bench.add_argument(
        "--jack-kill",
        action="store_true",
        help="jackd killed and started again under a morph loop: the largest OSC note gap (--seconds "
        "before, down and after; needs jackd)",
    )
    bench.add_argument(
        "--model",
        metavar="CHECKPOINT",
        action="append",
        default=[],
        help="with --models: these checkpoints (default: the shipped models/*.pt)",
    )
    bench.add_argument(
        "--rates", default="50,200,1000", help="events per second, comma separated (default: %(default)s)"
    )
    bench.add_argument(
        "--seconds", type=float, default=10.0, help="duration of each rate (default: %(default)s)"
    )
    bench.add_argument("--out", metavar="FILE", help="also write the JSON here")
    return parser


def _audio_overrides(args: argparse.Namespace) -> list[str]:
    """`--audio all` is `--set audio.enabled=true --set audio.play=all` (a --set wins)."""
    play = getattr(args, "serve_audio", None)  # serve's only: bench --audio is another flag
    return [] if play is None else ["audio.enabled=true", f"audio.play={play}"]


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C anywhere (the imports, a second one in a learn): quiet, 128 + SIGINT
        print("liveai: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(-1 if args.quiet else args.verbose)
    try:
        config = load_config(args.config, _audio_overrides(args) + args.set)
    except ConfigError as exc:
        print(f"liveai: config error: {exc}", file=sys.stderr)
        return 2
    if not (args.verbose or args.quiet):
        setup_logging({"debug": 1, "info": 0}.get(config.server.log_level, -1))
    try:
        return COMMANDS[args.command](config, args)
    except ConfigError as exc:
        print(f"liveai: config error: {exc}", file=sys.stderr)
        return 2
    except MidiFileError as exc:  # bad input, as a bad config is
        print(f"liveai: {exc}", file=sys.stderr)
        return 2
    except LiveaiError as exc:
        print(f"liveai: {exc}", file=sys.stderr)
        return 1


def welcome(config: Config, bound: dict[str, socket.socket]) -> None:
    """Where to play, said once in plain words before the log lines."""
    lines = ["liveai: loading the models, then serving; Ctrl-C stops"]
    if "web" in bound:
        host, port = config.web.host, bound["web"].getsockname()[1]
        shown = host.replace("0.0.0.0", "<this machine>")
        token = f"?token={config.web.token}" if config.web.token else ""
        lines.append(f"  the stage page: http://{shown}:{port}/view{token}")
        lines.append(f"  OSCQuery:       http://{shown}:{port}/")
    if "osc" in bound:
        lines.append(
            f"  OSC in:         {config.osc.host}:{bound['osc'].getsockname()[1]}, "
            f"out to {', '.join(config.osc.targets) or 'subscribers only'}"
        )
    print("\n".join(lines), flush=True)  # stdout: the logs and errors keep stderr


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from .errors import TransportError
    from .transports import link, osc, web
    from .transports.web_guard import is_loopback

    if config.model.continuation:  # a name not found is refused before anything starts ("" = none)
        check_model(config.model.continuation, config.model.folder, "model.continuation")
    if config.clock.source == "link":
        link.wanted(config.clock)  # without aalink: refused here, before the models load
    if config.web.enabled and not config.web.token and not is_loopback(config.web.host):
        # beyond loopback the page needs one: made now, printed below
        config.web.token = secrets.token_urlsafe(16)
    bound: dict[str, socket.socket] = {}
    try:  # before the models load (seconds): a port taken is said at once
        for name, section, bind in (("osc", config.osc, osc.bind), ("web", config.web, web.bind)):
            if section.enabled:
                try:
                    bound[name] = bind(section)
                except TransportError as exc:
                    raise ConfigError(
                        f"{name}.port: {exc} (another liveai? set {name}.port, or {name}.enabled = false)"
                    ) from None
        welcome(config, bound)
        from .behaviours.registry import Registry
        from .server import serve

        Registry().check_config(config)
        asyncio.run(serve(config, bound))
    finally:
        for sock in bound.values():
            sock.close()  # served or not (a bad model), the ports are given back
    return 0


def cmd_devices(config: Config, args: argparse.Namespace) -> int:
    from .audio.devices import describe_audio
    from .transports.midi_backend import describe_midi

    print(json.dumps({"midi": describe_midi(config.midi.api), "audio": describe_audio()}, indent=2))
    return 0


def cmd_generate(config: Config, args: argparse.Namespace) -> int:
    from .data.offline import generate

    if not 0 < args.seconds <= 3600 or not 0 < args.temperature <= 5 or not 0 < args.top_p <= 1:
        raise ConfigError("generate: need 0 < --seconds <= 3600, 0 < --temperature <= 5, 0 < --top-p <= 1")
    check_model(args.model or config.model.continuation or "gru", config.model.folder)
    report = generate(
        config,
        args.prime,
        args.seconds,
        args.out,
        args.model,
        args.temperature,
        args.top_p,
        args.seed,
        args.key,
    )
    print(json.dumps(report, indent=2))
    return 0


def cmd_evaluate(config: Config, args: argparse.Namespace) -> int:
    from .data.offline import evaluate

    check_model(args.model or config.model.continuation or "gru", config.model.folder)
    print(json.dumps(evaluate(config, args.folder, args.model), indent=2))
    return 0


def cmd_learn(config: Config, args: argparse.Namespace) -> int:
    from .learn.run import LearnOptions, learn

    if (
        (args.minutes is not None and args.minutes < 0)
        or (args.steps is not None and args.steps < 1)
        or (args.threads is not None and not 1 <= args.threads <= 64)
    ):
        raise ConfigError("learn: need --minutes >= 0, --steps >= 1, 1 <= --threads <= 64")
    folder = args.model_folder if args.model_folder is not None else config.model.folder
    check_model(args.model or config.model.continuation or "gru", folder)  # before the folder is read
    progress = args.progress or ("bar" if sys.stderr.isatty() else "json")
    done = learn(
        config,
        LearnOptions(
            args.folder,
            args.name,
            args.model,
            args.minutes,
            args.steps,
            args.threads,
            progress,
            args.model_folder,
            args.replay,
            args.vae,
            args.seed,
        ),
    )
    return 0 if done["path"] else 1  # 1: nothing learned, no model written


def cmd_render(config: Config, args: argparse.Namespace) -> int:
    from .audio.offline import render_midi

    print(json.dumps(render_midi(config, args.midi, args.wav, args.model), indent=2))
    return 0


def cmd_bench(config: Config, args: argparse.Namespace) -> int:
    from .bench.command import bench_report

    text = json.dumps(bench_report(args), indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "devices": cmd_devices,
    "generate": cmd_generate,
    "evaluate": cmd_evaluate,
    "learn": cmd_learn,
    "render": cmd_render,
    "bench": cmd_bench,
}

if __name__ == "__main__":
    sys.exit(main())
