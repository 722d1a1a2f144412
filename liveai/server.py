"""The server: wires the engine, the control API and the transports on one asyncio loop.

The engine is plain Python; this module drives its scheduler with one loop timer
(`call_at` the earliest target time, re-armed when something earlier is queued) and
supervises the transports that can lose their peer (MIDI, MQTT). On shutdown every
sounding note gets its note-off while the transports are still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import signal
import sys
import time
from typing import Any

from .api import ControlApi
from .config import Config
from .core.engine import Engine
from .runtime.loading import load_runner
from .runtime.port import RunnerPort
from .runtime.runner import GIL_SWITCH_INTERVAL_S, ModelRunner
from .supervisor import supervise
from .transports.midi import MidiTransport
from .transports.mqtt import MqttTransport
from .transports.osc import OscTransport

log = logging.getLogger(__name__)


def memory_mb() -> float:
    """Resident memory now (falls back to the peak where /proc is absent)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return round(pages * resource.getpagesize() / 2**20, 1)
    except OSError:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def freeze_startup_objects() -> None:
    """Keep the cyclic garbage collector off what startup made.

    torch and the model leave ~175k objects that live as long as the server; a full
    collection walks them all, holding the GIL for ~120 ms (measured on 2 cores), and
    every thread stalls: a hiccup the player hears. Frozen, they are never scanned."""
    gc.collect()
    gc.freeze()


class Server:
    def __init__(self, config: Config, runner: ModelRunner | None = None) -> None:
        """`runner`: the started continuation model (see `liveai.runtime.loading`), if any."""
        self.config = config
        self.runner = runner
        port = None if runner is None else RunnerPort(runner, asyncio.get_running_loop())
        self.engine = Engine(config, now=time.monotonic, models=port)
        self.api = ControlApi(self.engine)
        self.osc: OscTransport | None = None
        self.midi: MidiTransport | None = None
        self.mqtt: MqttTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self.ready = asyncio.Event()

    # -- scheduler driver -----------------------------------------------------------------
    def _arm(self, at: float) -> None:
        """Make sure the loop wakes at `at` (engine.on_reschedule)."""
        if at >= self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.get_running_loop().call_at(at, self._fire)

    def _fire(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        next_at = self.engine.run_due()
        if next_at is not None:
            self._arm(next_at)

    # -- status ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.engine.status()
        status["memory_mb"] = memory_mb()
        if self.osc is not None:
            status["osc_port"] = self.osc.port
            status["osc_subscribers"] = len(self.osc.subscribers)
        status.update(self.midi.status() if self.midi else {"midi_api": "off"})
        status["mqtt"] = "off" if self.mqtt is None else ("connected" if self.mqtt.connected else "reconnecting")
        if self.runner is not None:
            status.update(self.runner.stats())
        return status

    # -- run --------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; raises TransportError if OSC cannot listen."""
        engine = self.engine
        engine.on_reschedule = self._arm
        c = self.config
        async with contextlib.AsyncExitStack() as stack:
            tasks: list[asyncio.Task[None]] = []
            if c.osc.enabled:
                self.osc = await stack.enter_async_context(OscTransport(c.osc, self.api, engine.stats, self.status))
                engine.sinks.append(self.osc.send_event)
            if c.midi.enabled:
                self.midi = MidiTransport(c.midi, engine.handle, engine.stats)
                engine.sinks.append(self.midi.send_event)
                tasks.append(asyncio.create_task(supervise("midi", self.midi.session)))
            if c.mqtt.url:
                self.mqtt = MqttTransport(c.mqtt, self.api, engine.stats, self.status, lambda: dict(engine.state))
                engine.sinks.append(self.mqtt.send_event)
                tasks.append(asyncio.create_task(
                    supervise("mqtt", self.mqtt.session, maximum_s=c.mqtt.reconnect_max_s)))
            engine.start()
            freeze_startup_objects()
            self.ready.set()
            log.info("liveai serving: mode %s", engine.state["mode"])
            try:
                await stop.wait()
            finally:
                engine.shutdown()  # note-offs go out while the transports are still open
                if self._timer is not None:
                    self._timer.cancel()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        log.info("liveai stopped")


async def serve(config: Config) -> None:
    """Load the model, then run until SIGINT or SIGTERM."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = await asyncio.to_thread(load_runner, config)
    try:
        await Server(config, runner).run(stop)
    finally:
        if runner is not None:
            runner.close()
