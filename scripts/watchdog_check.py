#!/usr/bin/env python3
"""The watchdog check: what systemd would hear from liveai, measured on a datagram socket
standing in for it (this container has no systemd as PID 1 to run the unit).

1. Served: a real `liveai serve` (the shipped GRU) with NOTIFY_SOCKET and WATCHDOG_USEC:
   the time to READY=1, the spacing of the pings, STOPPING=1 after SIGTERM.
2. Frozen: the real Worker (the shipped GRU) in this process, and the Watchdog on an
   asyncio loop at the real clock: a job that blocks freezes the worker; the pings stop
   (systemd restarts liveai WatchdogSec after the last one), and come back when it
   answers again.

    .venv/bin/python scripts/watchdog_check.py --out docs/figures/2026-12-07-watchdog.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liveai.bench.harness import OscPeer, ServerProcess, free_port, machine
from liveai.bench.learn_live import commit
from liveai.bench.notify import NotifySocket
from liveai.config.load import load_config
from liveai.runtime.loading import load_worker
from liveai.runtime.systemd import Notifier
from liveai.runtime.watchdog import Watchdog, WorkerProbe


def served(seconds: float, interval_s: float) -> dict[str, object]:
    listener = NotifySocket()
    port = free_port()
    env = {"NOTIFY_SOCKET": listener.name, "WATCHDOG_USEC": str(round(interval_s * 1e6))}
    with OscPeer(port) as peer:
        started = time.monotonic()
        server = ServerProcess(
            [f"osc.port={port}", f'osc.targets=["127.0.0.1:{peer.port}"]', "midi.api=none"], env=env
        ).start()
        try:
            ready = listener.first("READY=1", 120)
            time.sleep(seconds)
            status = peer.status()
            stopped = time.monotonic()
            code = server.stop(signal.SIGTERM)
            stopping = listener.first("STOPPING=1", 10)
        finally:  # a wait that ran out leaves neither the server nor the socket behind
            server.stop()
            listener.close()
    pings = [t for t in listener.pings() if t <= stopping]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    return {
        "watchdog_usec": round(interval_s * 1e6),
        "start_to_ready_s": round(ready - started, 2),
        "seconds_watched": seconds,
        "pings": len(pings),
        "ping_gap_s": {
            "p50": round(statistics.median(gaps), 3),
            "min": round(min(gaps), 3),
            "max": round(max(gaps), 3),
        },
        "watchdog_withheld": status["watchdog_withheld"],
        "sigterm_to_stopping_ms": round(1000 * (stopping - stopped), 1),
        "exit_code": code,
    }


async def frozen(interval_s: float, freeze_s: float) -> dict[str, object]:
    listener = NotifySocket()
    notifier = Notifier.from_env({"NOTIFY_SOCKET": listener.name})
    worker = load_worker(load_config(overrides=['model.continuation="gru"']))
    assert worker is not None
    dog = Watchdog(notifier, interval_s, {"the model worker": WorkerProbe(worker)})
    task = asyncio.create_task(dog.run())
    try:
        await asyncio.sleep(2 * interval_s)
        gate = threading.Event()
        froze = time.monotonic()
        worker.submit("player", gate.wait)  # a job that hangs
        await asyncio.sleep(freeze_s)
        gate.set()
        thawed = time.monotonic()
        await asyncio.sleep(2 * interval_s)
    finally:
        task.cancel()
        worker.close()
        notifier.close()
        listener.close()
    pings = listener.pings()
    last = max(t for t in pings if t < thawed)
    back = min(t for t in pings if t > thawed)
    return {
        "interval_s": interval_s,
        "frozen_s": freeze_s,
        "freeze_to_last_ping_s": round(last - froze, 3),
        "pings_while_frozen_after_the_interval": len([t for t in pings if froze + interval_s < t < thawed]),
        "thaw_to_first_ping_s": round(back - thawed, 3),
        "withheld": dog.withheld,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the JSON here (else stdout)")
    ap.add_argument("--seconds", type=float, default=20.0, help="how long the served liveai is watched")
    args = ap.parse_args()
    figures = {
        "what": (
            "sd_notify as systemd would receive it (a datagram socket standing in): a served liveai "
            "(shipped GRU, WATCHDOG_USEC=2 s), and the real Worker frozen by a blocking job under the "
            "Watchdog at the real clock (interval 1 s), frozen 4 s. systemd would restart liveai "
            "WatchdogSec after the last ping."
        ),
        "machine": machine(),
        "commit": commit(),
        "served": served(args.seconds, 2.0),
        "frozen_worker": asyncio.run(frozen(1.0, 4.0)),
    }
    text = json.dumps(figures, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
