"""The server, the composition root: the registry, the engine, the command table and
the transports on one asyncio loop, with the model's worker beside it.

The engine is plain Python; this module drives its scheduler with one loop timer
(`call_at` the earliest target time, re-armed when something earlier is queued),
opens the required transport (OSC) and supervises those that can lose their peer
(MIDI, MQTT). On shutdown every sounding note gets its note-off while the transports
are still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import resource
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any

from .audio.link import SynthLink
from .behaviours.registry import Registry, load_model_modes
from .config import Config
from .control.handlers import definitions
from .control.table import CommandTable
from .core.engine import Engine
from .errors import ConfigError
from .runtime.port import GIL_SWITCH_INTERVAL_S, WorkerPort
from .runtime.systemd import Notifier, watchdog_interval
from .runtime.watchdog import Part, Watchdog, WorkerProbe
from .transports import link
from .transports.base import Transport, cancel_all
from .transports.midi import MidiTransport
from .transports.mqtt import MqttTransport
from .transports.osc import OscTransport
from .transports.oscquery import OscQuery
from .transports.stage import StagePart
from .transports.supervisor import supervise
from .transports.web import WebTransport

# The models, their worker, the live learning and the synth bring torch: they are imported
# where they are loaded, so a server without them starts without it (a second of CPU).
if TYPE_CHECKING:
    from .runtime.worker import Worker

log = logging.getLogger(__name__)
_SHUTDOWN_WARN_S = 3.0  # a transport still closing after this long is named in the log
STATUS_S = 1.0  # how often systemd's STATUS= line is brought up to date (sent when it changed)
# The loop wakes on whole milliseconds (epoll rounds its timeout up: 0-1 ms late). For
# a precise timer (a beat's pulse) it is armed this much early, then sleeps the rest
# (time.sleep: to a tenth of a millisecond), so a beat and the notes on it leave on time.
PRECISE_EARLY_S = 0.001


def memory_mb() -> float:
    """Resident memory now (falls back to the peak where /proc is absent)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return round(pages * resource.getpagesize() / 2**20, 1)
    except OSError:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def open_fds() -> int:
    """File descriptors open now (-1 where /proc is absent): a leak shows in a soak."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def freeze_startup_objects() -> None:
    """Keep the cyclic garbage collector off what startup made.

    torch and the model leave ~175k objects that live as long as the server; a full
    collection walks them all, holding the GIL for many notes' time (CHANGELOG.md has
    the figure), and every thread stalls: a hiccup the player hears. Frozen, they are never scanned."""
    gc.collect()
    gc.freeze()


class Server:
    def __init__(
        self,
        config: Config,
        worker: Worker | None = None,
        registry: Registry | None = None,
        audio: SynthLink | None = None,
        bound: dict[str, socket.socket] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        """`worker`: the started continuation model (see `liveai.runtime.loading`), if any;
        `audio`: the synth's link (not started), for `audio.enabled`; `bound`: the
        ports bound already, by transport ("osc", "web": `transports.osc.bind`, `web.bind`);
        `notifier`: systemd's socket (`Notifier.from_env`), told when liveai serves."""
        self.config = config
        self.worker = worker
        self.audio = audio
        self.registry = registry or Registry()
        port = None if worker is None else WorkerPort(worker, asyncio.get_running_loop())
        self.engine = Engine(config, now=time.monotonic, behaviours=self.registry, models=port)
        self.learning = None
        if worker is not None:
            from .live.learn_job import LiveLearning

            self.learning = LiveLearning(config, self.engine, worker)
        self.engine.learning = self.learning
        self.table = CommandTable(self.engine, definitions(self.registry.commands()))
        self.transports = self._transports(bound or {})
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self.ready = asyncio.Event()
        self.notifier = notifier or Notifier(None)
        self.watchdog: Watchdog | None = None

    def _transports(self, bound: dict[str, socket.socket]) -> list[Transport]:
        c, engine = self.config, self.engine
        transports: list[Transport] = []
        if c.osc.enabled:
            transports.append(OscTransport(c.osc, self.table, engine.stats, self.status, bound.get("osc")))
        if c.midi.enabled:
            transports.append(MidiTransport(c.midi, engine.handle, engine.stats))
        if c.mqtt.url:
            transports.append(
                MqttTransport(c.mqtt, self.table, engine.stats, self.status, lambda: dict(engine.state))
            )
        if link.wanted(c.clock):
            conductor = engine.conductor
            transports.append(
                link.LinkTransport(
                    c.clock,
                    c.clock.bpm,
                    engine.now,
                    conductor.join,
                    conductor.timeline_changed,
                    engine.handle,
                    lambda: conductor.clock.playing,
                )
            )
        if c.web.enabled:
            parts = [
                OscQuery(self.table, c.osc, self.status, self._osc_port),
                StagePart(c, engine, self.table, self.status),
            ]
            transports.append(WebTransport(c.web, engine.stats, engine.faults, parts, bound.get("web")))
        return transports

    def transport(self, name: str) -> Transport | None:
        return next((t for t in self.transports if t.name == name), None)

    def _osc_port(self) -> int | None:
        osc = self.transport("osc")
        return osc.port if isinstance(osc, OscTransport) and osc.is_open else None

    # -- scheduler driver -----------------------------------------------------------------
    def _arm(self, at: float) -> None:
        """Make sure the loop wakes at `at` (engine.output.on_reschedule)."""
        if at >= self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        early = PRECISE_EARLY_S if self.engine.output.precise_next() else 0.0
        self._timer = asyncio.get_running_loop().call_at(at - early, self._fire)

    def _fire(self) -> None:
        wait = self._timer_at - time.monotonic()
        self._timer, self._timer_at = None, float("inf")
        if 0 < wait <= PRECISE_EARLY_S:  # woken early on purpose: a beat is due (at most 1 ms)
            time.sleep(wait)
        next_at = self.engine.run_due()
        if next_at is not None:
            self._arm(next_at)

    # -- status ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.engine.status()
        status["memory_mb"] = memory_mb()
        status["open_fds"] = open_fds()
        status["midi_api"] = "off"
        status["mqtt"] = "off"
        for transport in self.transports:
            status.update(transport.report())
        if self.worker is not None:
            status.update(self.worker.stats())
        if self.learning is not None:
            status.update(self.learning.status())
        status.update(self.registry.status())
        status.update(self.audio.status() if self.audio is not None else {"audio": "off"})
        if self.watchdog is not None:
            status.update(self.watchdog.status())
        return status

    # -- systemd -------------------------------------------------------------------------
    def summary(self) -> str:
        """systemd's STATUS= line: what `systemctl status liveai` shows."""
        state = self.engine.state
        text = f"serving: mode {state['mode']}"
        if state["model"]:
            text += f", model {state['model']}"
        return text if self.audio is None else f"{text}, audio {self.audio.state}"

    def _systemd(self) -> list[asyncio.Task[None]]:
        """READY=1, then the STATUS= line kept up to date and, with WatchdogSec=, the watchdog."""
        notifier = self.notifier
        notifier.status(self.summary(), "READY=1")
        if not notifier.enabled:
            return []
        tasks = [asyncio.create_task(self._keep_status(), name="systemd status")]
        interval = watchdog_interval(os.environ, os.getpid())
        if interval is not None:
            parts: dict[str, Part] = {}
            if self.worker is not None:
                parts["the model worker"] = WorkerProbe(self.worker)
            if self.audio is not None:
                parts["the render process"] = self.audio.render_seen
            self.watchdog = Watchdog(notifier, interval, parts)
            tasks.append(asyncio.create_task(self.watchdog.run(), name="systemd watchdog"))
        return tasks

    async def _keep_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_S)
            self.notifier.status(self.summary())

    # -- run --------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; raises TransportError if a required transport
        (OSC) cannot open."""
        engine = self.engine
        engine.output.on_reschedule = self._arm
        asyncio.get_running_loop().set_exception_handler(engine.faults.loop_exception)
        async with contextlib.AsyncExitStack() as stack:
            tasks: list[asyncio.Task[None]] = []
            for transport in self.transports:
                for sink, lead in transport.sinks():
                    engine.output.add_sink(sink, lead)
                engine.on_panic.append(transport.panic)
                if transport.required:
                    await stack.enter_async_context(transport)
                    tasks.append(asyncio.create_task(transport.serve(), name=transport.name))
                else:
                    tasks.append(asyncio.create_task(supervise(transport), name=transport.name))
            if self.audio is not None:
                engine.output.add_sink(self.audio.sink)
                if self.config.audio.play == "all":
                    engine.input_taps.append(self.audio.tap)
                self.audio.start()
            engine.start()
            if self.learning is not None:
                self.learning.start()
            freeze_startup_objects()
            self.ready.set()
            log.info("liveai serving: mode %s", engine.state["mode"])
            systemd = self._systemd()
            try:
                await stop.wait()
            finally:
                self.notifier.status("stopping", "STOPPING=1")
                await cancel_all(systemd)
                engine.shutdown()  # note-offs go out while the transports are still open
                if self._timer is not None:
                    self._timer.cancel()
                for task in tasks:
                    task.cancel()
                _, pending = await asyncio.wait(tasks, timeout=_SHUTDOWN_WARN_S) if tasks else ((), ())
                if pending:  # say what holds the exit up, and where, then wait for it
                    log.warning(
                        "shutdown: still closing after %g s: %s",
                        _SHUTDOWN_WARN_S,
                        ", ".join(task.get_name() for task in pending),
                    )
                    for task in asyncio.all_tasks():
                        log.warning("shutdown: task %s waits in %s", task.get_name(), awaiting(task))
                    await cancel_all(pending)
                await asyncio.gather(*tasks, return_exceptions=True)
                if self.learning is not None:
                    await self.learning.close()
                if self.audio is not None:
                    await asyncio.to_thread(self.audio.close)
        log.info("liveai stopped")


def awaiting(task: asyncio.Task[Any]) -> str:
    """Where a task is suspended: its chain of awaits, outermost first."""
    links: list[str] = []
    step: Any = task.get_coro()
    while step is not None:
        frame = getattr(step, "cr_frame", None) or getattr(step, "gi_frame", None)
        if frame is None:
            links.append(repr(step)[:160])  # a future, or a finished coroutine
            break
        links.append(
            f"{frame.f_code.co_name} ({os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno})"
        )
        step = getattr(step, "cr_await", None) or getattr(step, "gi_yieldfrom", None)
    return " -> ".join(links)


def make_audio(config: Config) -> SynthLink:
    """The synth's link for `audio.enabled` (ConfigError if the synth cannot load or
    does not fit the configuration: the user asked for sound)."""
    from .runtime.loading import load_synth

    # here, to refuse it before serving; the render process plays it
    synth, path = load_synth(config.audio.model)
    if synth.config.sample_rate != config.audio.samplerate:
        raise ConfigError(
            f"audio.samplerate is {config.audio.samplerate}; the synth plays at {synth.config.sample_rate} Hz"
        )
    return SynthLink(config.audio, path)


async def serve(config: Config, bound: dict[str, socket.socket] | None = None) -> None:
    """Load the model, then run until SIGINT or SIGTERM (on the ports in `bound`, when the
    caller bound them before: see `liveai.cli`)."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    notifier = Notifier.from_env()  # systemd's, under Type=notify
    try:
        if config.audio.enabled:
            notifier.status("loading the synth")
        audio = await asyncio.to_thread(make_audio, config) if config.audio.enabled else None
        notifier.status("loading the models")
        worker = vae = harmony = None
        if config.model.continuation:
            from .runtime.loading import load_harmony, load_morph, load_worker

            worker = await asyncio.to_thread(load_worker, config)
            if worker is not None:
                await asyncio.to_thread(load_model_modes)
            vae = None if worker is None else await asyncio.to_thread(load_morph, config)
            harmony = None if worker is None else await asyncio.to_thread(load_harmony, config)
        else:
            log.info("no continuation model configured: harmonize by rule, no duet or autopilot")
        try:
            server = Server(config, worker, Registry(vae=vae, harmony=harmony), audio, bound, notifier)
            await server.run(stop)
        finally:
            if worker is not None:
                worker.close()
    finally:
        notifier.close()
