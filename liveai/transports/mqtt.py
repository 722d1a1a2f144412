"""MQTT: commands in, retained state, status with a last will, telemetry out.

Topics under `liveai/<instance>`: `status` (retained online/offline, offline is also the
last will), `cmd/<name>` (the OSC commands, text payloads), `state/<name>` (retained
current values), `telemetry` (JSON every `mqtt.telemetry_s`), `error` (JSON, for
refused commands); Home Assistant discovery with `mqtt.discovery` (homeassistant.py).
Opening connects; when the broker goes away `serve` raises TransportError and the
supervisor reconnects, then all state is published again. Pending output is the latest
value per state name plus a bounded queue of error messages, so an absent broker never
makes memory grow.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiomqtt

from ..config import MqttConfig
from ..control.table import CommandTable
from ..core.commands import Request
from ..core.stats import LogThrottle, Stats
from ..errors import CommandError, CommandFault, TransportError
from ..events import Event, Report, StateChanged
from .base import Transport, cancel_all, clip
from .homeassistant import Discovery

log = logging.getLogger(__name__)

_OUTBOX_LIMIT = 256
_GOODBYE_S = 1.0  # a shutdown waits at most this long for the broker to take the offline status


def broker_address(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) from `mqtt://host[:port]` or `mqtts://host[:port]`."""
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    return parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls


class MqttTransport(Transport):
    name = "mqtt"

    def __init__(
        self,
        config: MqttConfig,
        table: CommandTable,
        stats: Stats,
        status: Callable[[], dict[str, Any]],
        state: Callable[[], dict[str, Any]],
    ) -> None:
        super().__init__()
        self.config = config
        self.table = table
        self.stats = stats
        self._status = status
        self._state = state
        self.base = f"liveai/{config.instance}"
        self.host, self.port, self.tls = broker_address(config.url)
        self.reconnect_max_s = config.reconnect_max_s
        self._broker: aiomqtt.Client | None = None  # the connection while open
        self._dirty: dict[str, Any] = {}  # state not yet published: latest value wins
        self._outbox: deque[tuple[str, str]] = deque(maxlen=_OUTBOX_LIMIT)
        self._wake = asyncio.Event()
        self.discovery = Discovery(config, table, stats)
        self._log_retained = LogThrottle(log, "more", level=logging.WARNING)
        self._log_refused = LogThrottle(log, "refusals")  # at info: a player sees why, without -v
        self._log_outbox = LogThrottle(log, "more dropped", level=logging.WARNING)

    def _connection(self) -> aiomqtt.Client:
        c = self.config
        tls_params = None
        if self.tls or c.ca_file:
            tls_params = aiomqtt.TLSParameters(
                ca_certs=c.ca_file or None,
                certfile=c.certfile or None,
                keyfile=c.keyfile or None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        return aiomqtt.Client(
            self.host,
            self.port,
            username=c.username or None,
            password=c.password or None,
            identifier=f"liveai-{c.instance}-{os.getpid()}",
            will=aiomqtt.Will(f"{self.base}/status", "offline", qos=1, retain=True),
            keepalive=c.keepalive_s,
            tls_params=tls_params,
            timeout=5,
            max_queued_incoming_messages=1024,
            max_queued_outgoing_messages=1024,
        )

    # -- lifecycle -----------------------------------------------------------------------
    async def _open(self) -> None:
        broker = self._connection()
        try:
            await broker.__aenter__()
        except aiomqtt.MqttError as exc:
            raise self._lost(exc) from exc
        self._broker = broker
        try:
            await self._online(broker)
        except aiomqtt.MqttError as exc:
            await self._disconnect()
            raise self._lost(exc) from exc

    async def serve(self) -> None:
        broker = self._broker
        assert broker is not None
        tasks = [
            asyncio.create_task(job)
            for job in (self._listen(broker), self._publish(broker), self._telemetry(broker))
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raises the MqttError that ended the connection
        except aiomqtt.MqttError as exc:
            raise self._lost(exc) from exc
        finally:
            await cancel_all(tasks)

    async def _close(self, lost: bool) -> None:
        if self._broker is not None and not lost:
            await self._offline(self._broker)
        await self._disconnect()

    async def _disconnect(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            try:  # paho ends the session once DISCONNECT is written: no broker can hold this up
                await broker.__aexit__(None, None, None)
            except aiomqtt.MqttError as exc:
                log.debug("disconnecting: %s", exc)

    def _lost(self, exc: aiomqtt.MqttError) -> TransportError:
        return TransportError(f"mqtt broker {self.host}:{self.port}: {exc}")

    async def _online(self, broker: aiomqtt.Client) -> None:
        await broker.subscribe(f"{self.base}/cmd/#", qos=1)  # first: "online" means commands are heard
        await broker.publish(f"{self.base}/status", "online", qos=1, retain=True)
        await self.discovery.connected(broker)
        self._dirty = dict(self._state())  # a new connection republishes every value
        self._wake.set()
        log.info("mqtt connected to %s:%d as %s", self.host, self.port, self.base)

    async def _offline(self, broker: aiomqtt.Client) -> None:
        """A clean goodbye: the last will only speaks when liveai dies."""
        try:
            await broker.publish(f"{self.base}/status", "offline", qos=1, retain=True, timeout=_GOODBYE_S)
        except aiomqtt.MqttError as exc:
            log.debug("could not say offline: %s", exc)

    async def _listen(self, broker: aiomqtt.Client) -> None:
        prefix = f"{self.base}/cmd/"
        async for message in broker.messages:
            if await self.discovery.heard(broker, message):
                continue
            if message.retain:
                # a command someone left retained would be replayed at every reconnect (a
                # retained cmd/panic, a panic each time): commands act when sent, never again
                self.stats.count("mqtt_retained_ignored")
                self._log_retained(
                    time.monotonic(), "a retained command on %s is ignored", message.topic.value
                )
                continue
            name = message.topic.value.removeprefix(prefix)
            payload = message.payload if isinstance(message.payload, (bytes, bytearray)) else b""
            self.command(name, bytes(payload), time.monotonic())

    def command(self, name: str, payload: bytes, arrival: float) -> None:
        request = Request("mqtt", arrival, self)
        try:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise CommandError("bad_args", f"cmd/{name}: payload is not UTF-8 text") from None
            self.table.dispatch_text(name, text, request)
        except CommandError as exc:
            self.refuse(request, name, exc)
        except CommandFault as exc:  # counted in internal_errors where it was contained
            self._answer(name, exc.code, exc.message)

    async def _publish(self, broker: aiomqtt.Client) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                name, value = self._dirty.popitem()
                await broker.publish(f"{self.base}/state/{name}", _payload(value), qos=1, retain=True)
            while self._outbox:
                topic, payload = self._outbox.popleft()
                await broker.publish(f"{self.base}/{topic}", payload, qos=0)

    async def _telemetry(self, broker: aiomqtt.Client) -> None:
        while True:
            await broker.publish(f"{self.base}/telemetry", json.dumps(self._status()), qos=0)
            await asyncio.sleep(self.config.telemetry_s)

    def _queue(self, topic: str, payload: str) -> None:
        if len(self._outbox) == self._outbox.maxlen:
            self.stats.count("mqtt_outbox_dropped")
            self._log_outbox(time.monotonic(), "outbox full: dropped the oldest message")
        self._outbox.append((topic, payload))
        self._wake.set()

    # -- engine sink and replies ----------------------------------------------------------
    def send(self, event: Event) -> None:
        """Engine sink: state changes are kept while the broker is away and published
        (the latest value of each) when it is back."""
        if not isinstance(event, Event):
            raise TypeError(f"{self.name}: send() takes an Event, not {type(event).__name__}")
        self._send(event)

    def _send(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            self._dirty[event.name] = event.value
            self._wake.set()
        elif isinstance(event, Report):
            self._queue(f"out/{event.name}", json.dumps(list(event.args)))

    def refuse(self, request: Request, command: str, error: CommandError) -> None:
        """Count the refusal (`errors` and its kind), then answer it."""
        self.stats.refused(
            time.monotonic(),
            request.source,
            error.code,
            clip(f"cmd/{command}: {error.message}", self.config.max_echo_chars),
        )
        self._answer(command, error.code, error.message)

    def _answer(self, command: str, code: str, message: str) -> None:
        """JSON `{command, code, message}` on `<base>/error`; the command's name and the
        message cut to `mqtt.max_echo_chars`, in the log too."""
        command, message = (
            clip(command, self.config.max_echo_chars),
            clip(message, self.config.max_echo_chars),
        )
        self._log_refused(time.monotonic(), "refused cmd/%s: %s %s", command, code, message)
        self._queue("error", json.dumps({"command": command, "code": code, "message": message}))

    def reply(self, address: str, *args: Any) -> None:
        self._queue("reply" + address.removeprefix("/liveai"), json.dumps(list(args)))

    def subscribe(self, host: str, port: int) -> None:
        raise CommandError("unsupported", "subscribe is an OSC command")

    def unsubscribe(self, host: str, port: int) -> None:
        raise CommandError("unsupported", "unsubscribe is an OSC command")

    def status(self) -> dict[str, Any]:
        """The server's status, for a handler (Replies)."""
        return self._status()

    def report(self) -> dict[str, Any]:
        return {"mqtt": "connected" if self.is_open else "reconnecting"}


def _payload(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
