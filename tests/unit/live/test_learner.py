"""The learning child as the server runs it: its command line (lowest priority, the
threads asked for, the model folder), its progress lines reported, an overlong or
foreign line skipped, a failure's one line reported, SIGTERM keeping its weights."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from liveai.live.learner import MAX_LINE, Run, command_line, config_settings, report_args

SCRIPT = """
import json, signal, sys, time
print("chatter that is not JSON", flush=True)
print("x" * {long}, flush=True)
learning = {{"stage": "learning", "step": 1, "steps": 9, "eta_s": 4.5, "validation_bits": 3.2, "note": "no"}}
print(json.dumps(learning), flush=True)
if {fail}:
    print("liveai learn: no MIDI files in /nowhere", file=sys.stderr)
    sys.exit(2)
stopped = []
signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
while {wait} and not stopped:
    time.sleep(0.01)
open(sys.argv[1], "wb").write(b"weights")
done = {{"stage": "done", "path": sys.argv[1]}}
done.update(before={{"heldout_bits": 3.2}}, after={{"heldout_bits": 2.5}})
print(json.dumps(done), flush=True)
"""


def child(tmp_path: Path, fail: bool = False, wait: bool = False) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(SCRIPT.format(long=MAX_LINE * 3, fail=fail, wait=wait))
    return [sys.executable, str(script), str(tmp_path / "mine.pt")]


def test_a_learn_at_normal_priority_runs_as_the_server(tmp_path, monkeypatch):
    monkeypatch.delenv("LIVEAI_LEARN_COMMAND", raising=False)
    argv = command_line(tmp_path / "rec", "learned-1", 1, tmp_path / "models", "gru", priority="normal")
    assert argv[:4] == [sys.executable, "-m", "liveai", "learn"]


def test_the_command_line_runs_at_the_lowest_priority_with_the_threads_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("LIVEAI_LEARN_COMMAND", raising=False)
    argv = command_line(tmp_path / "rec", "learned-1", 1, tmp_path / "models", "gru")
    priority = ["chrt", "--idle", "0", "nice", "-n", "19"] if shutil.which("chrt") else ["nice", "-n", "19"]
    assert argv[: len(priority)] == priority
    argv = argv[len(priority) :]
    assert argv[:3] == [sys.executable, "-m", "liveai"]
    assert argv[3:] == [
        "learn",
        str(tmp_path / "rec"),
        "--name",
        "learned-1",
        "--progress",
        "json",
        "--threads",
        "1",
        "--model-folder",
        str(tmp_path / "models"),
        "--model",
        "gru",
    ]


def test_the_child_learns_the_model_playing_with_the_servers_settings(tmp_path, monkeypatch):
    """The server's learn.* and model.* (file and --set) reach the child, and the base is
    the model playing now, a learned one too: the child parses them as the server did."""
    from liveai.cli import build_parser
    from liveai.config import load_config

    monkeypatch.delenv("LIVEAI_LEARN_COMMAND", raising=False)
    config = load_config(
        None,
        [
            "learn.minutes=2.5",
            "learn.lr=1e-05",
            "learn.l2sp=0.3",
            "learn.max_memory_mb=64",
            'learn.corpus="/c/my \\"corpus\\""',
            "model.device=cpu",
            "learn.record=true",
        ],
    )
    argv = command_line(
        tmp_path / "rec",
        "learned-2",
        1,
        tmp_path / "models",
        "learned-1",
        config_settings(config),
        config.learn.live_minutes,
    )
    argv = argv[argv.index("learn") :]
    assert argv[argv.index("--model") + 1] == "learned-1"
    args = build_parser().parse_args(argv)
    assert args.minutes == config.learn.live_minutes == 3  # between songs: not learn.minutes
    child = load_config(args.config, args.set)
    assert child.learn == config.learn and child.model == config.model
    assert (child.learn.minutes, child.learn.lr, child.learn.corpus, child.model.device) == (
        2.5,
        1e-05,
        '/c/my "corpus"',
        "cpu",
    )


def test_report_args_keep_the_stage_and_the_numbers():
    line = {
        "stage": "done",
        "step": 5,
        "path": "/x",
        "before": {"heldout_bits": 3.0, "notes": "a"},
        "after": {"heldout_bits": 2.0, "corpus_bits": True},
    }
    assert report_args(line) == ("done", "step", 5, "before_heldout_bits", 3.0, "after_heldout_bits", 2.0)


async def run(argv):
    reports, ends = [], []
    job = Run(argv, 1, reports.append, lambda path, why: ends.append((path, why)))
    return job, reports, ends


async def test_progress_is_reported_and_the_weights_come_back(tmp_path):
    job, reports, ends = await run(child(tmp_path))
    await job.run()
    assert reports[0] == ("learning", "step", 1, "steps", 9, "eta_s", 4.5, "validation_bits", 3.2)
    assert reports[-1] == ("done", "before_heldout_bits", 3.2, "after_heldout_bits", 2.5)
    assert ends == [(tmp_path / "mine.pt", "")]


async def test_a_failure_reports_its_one_line(tmp_path):
    job, _, ends = await run(child(tmp_path, fail=True))
    await job.run()
    assert ends == [(None, "liveai learn: no MIDI files in /nowhere")]


async def test_stop_lets_the_child_keep_its_weights(tmp_path):
    job, reports, ends = await run(child(tmp_path, wait=True))
    task = asyncio.create_task(job.run())
    while not reports:  # it is learning, and would go on
        await asyncio.sleep(0.01)
    job.stop()
    await asyncio.wait_for(task, 10)
    assert ends == [(tmp_path / "mine.pt", "")]


SAVED_THEN_SLOW = """
import json, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # busy with the figures after: too slow to end
open(sys.argv[1], "wb").write(b"weights")
print(json.dumps({"stage": "saved", "path": sys.argv[1], "best_step": 3}), flush=True)
time.sleep(60)
"""


async def test_a_stopped_child_killed_after_saving_still_gives_its_weights(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(SAVED_THEN_SLOW)
    job, reports, ends = await run([sys.executable, str(script), str(tmp_path / "mine.pt")])
    task = asyncio.create_task(job.run())
    while not reports:  # saved, then computing its figures
        await asyncio.sleep(0.01)
    job.stop()
    job.kill()  # the grace is over (at shutdown: CLOSE_WAIT_S)
    await asyncio.wait_for(task, 10)
    assert ends == [(tmp_path / "mine.pt", "")] and job.result["best_step"] == 3


def test_an_evaluations_figure_is_never_dropped_by_the_throttle():
    reports = []
    job = Run(["x"], 1, reports.append, lambda path, why: None)
    job._report({"stage": "learning", "step": 1, "eta_s": 170.0})
    job._report({"stage": "learning", "step": 1, "eta_s": 170.0})  # within REPORT_EVERY_S: dropped
    # an evaluation: kept
    job._report({"stage": "learning", "step": 1, "eta_s": 170.0, "validation_bits": 2.5})
    assert reports == [
        ("learning", "step", 1, "eta_s", 170.0),
        ("learning", "step", 1, "eta_s", 170.0, "validation_bits", 2.5),
    ]
