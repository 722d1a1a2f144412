"""OSC packets in, however they came (UDP datagrams, websocket binary frames): checked
against the wire limits, parsed, timetags honoured, dispatched to the command table.

python-osc only decodes here. Its own asyncio server runs handlers synchronously and
sleeps in the loop for timetagged bundles; bundle contents go to `loop.call_at` instead,
so a bundle for later never holds anything up (a panic drops those still waiting).
Bad input (unparsable bytes, unknown addresses, wrong arguments) is counted and answered
with `/liveai/error code message` through the request's replies, at most
`osc.max_errors_per_s` times a second per sending host; it never raises out of here.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from dataclasses import replace

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket, ParseError

from ..config import OscConfig
from ..control.table import CommandTable
from ..core.commands import Request
from ..core.stats import LogThrottle, RateLimit, Stats
from ..errors import CommandError, CommandFault
from .base import clip
from .osc_wire import TooMuch, WireLimits, check_datagram

log = logging.getLogger(__name__)

# What a hostile packet can make python-osc's parser raise besides ParseError.
PARSE_FAILURES = (
    ParseError,
    ValueError,
    IndexError,
    struct.error,
    UnicodeDecodeError,
    OverflowError,
    RecursionError,
)


class OscInput:
    def __init__(
        self,
        config: OscConfig,
        table: CommandTable,
        stats: Stats,
        logger: logging.Logger = log,
    ) -> None:
        """Its log lines go to `logger`, the transport's (OSC or OSCQuery's websocket)."""
        self.log = logger
        self.config = config
        self.table = table
        self.stats = stats
        self.pending: set[asyncio.TimerHandle] = set()
        self._limits = WireLimits(
            config.max_messages_per_datagram, config.max_arguments, config.max_string_bytes
        )
        self._error_replies = RateLimit(config.max_errors_per_s)
        self._log_suppressed = LogThrottle(logger, "more", level=logging.WARNING)
        self._log_refused = LogThrottle(logger, "refusals")  # at info: a player sees why, without -v

    def receive(self, data: bytes, request: Request) -> None:
        """One packet (a message or a bundle), counted in `datagrams_in`."""
        self.stats.count("datagrams_in")
        try:
            check_datagram(data, self._limits)
            packet = OscPacket(data)
        except TooMuch as exc:
            self.refuse("too_large", str(exc), request)
            return
        except PARSE_FAILURES as exc:
            self.refuse("malformed", f"cannot parse OSC packet ({len(data)} bytes): {exc}", request)
            return
        if not OscBundle.dgram_is_bundle(data):
            self.dispatch(packet.messages[0].message, request)
            return
        wall_now = time.time()
        for timed in packet.messages:
            delay = timed.time - wall_now
            if delay <= 0.0005:
                self.dispatch(timed.message, request)
            else:
                self._schedule(request.arrival + delay, delay, timed.message, request)

    def _schedule(self, at: float, delay: float, message: OscMessage, request: Request) -> None:
        """Honour a bundle's timetag with a timer: never a sleep in the loop."""
        if delay > self.config.max_bundle_delay_s:
            self.refuse(
                "bad_value", f"bundle timetag {delay:.1f} s ahead exceeds osc.max_bundle_delay_s", request
            )
            return
        if len(self.pending) >= self.config.max_pending_bundles:
            message = "too many timetagged messages waiting; message dropped"
            self.refuse("busy", message, request)
            return
        loop = asyncio.get_running_loop()
        timed = replace(request, arrival=at)

        def fire() -> None:
            self.pending.discard(handle)
            self.dispatch(message, timed)

        handle = loop.call_at(at, fire)
        self.pending.add(handle)

    def panic(self) -> None:
        """Timetagged messages still waiting never play: one firing after the panic
        would count as the player's next note and resume thru or harmonize."""
        if not self.pending:
            return
        self.stats.count("osc_timetagged_dropped", len(self.pending))
        self.log.info("panic: %d timetagged message(s) still waiting dropped", len(self.pending))
        self.cancel()

    def cancel(self) -> None:
        for handle in self.pending:
            handle.cancel()
        self.pending.clear()

    def dispatch(self, message: OscMessage, request: Request) -> None:
        self.stats.count("messages_in")
        try:
            self.table.dispatch(message.address, message.params, request)
        except CommandError as exc:
            self.refuse(exc.code, exc.message, request)
        except CommandFault as exc:  # counted in internal_errors where it was contained
            self._answer(exc.code, exc.message, request)

    def refuse(self, code: str, message: str, request: Request) -> None:
        """Count the refusal (`errors` and its code), then answer it."""
        self.stats.refused(request.arrival, request.source, code, self.clip(message))
        self._answer(code, message, request)

    def refuse_late(self, request: Request, error: CommandError) -> None:
        """A late refusal is rate-limited as of now, not as of the request's arrival."""
        self.refuse(error.code, error.message, replace(request, arrival=time.monotonic()))

    def _answer(self, code: str, message: str, request: Request) -> None:
        """`/liveai/error code message`, at most `osc.max_errors_per_s` times a second per
        sending host (a flood of bad messages must not become a flood of replies)."""
        if not self._error_replies.allow(request.host, request.arrival):
            self.stats.count("errors_unanswered")
            self._log_suppressed(
                request.arrival,
                "errors from %s beyond osc.max_errors_per_s are counted, not answered",
                request.host,
            )
            return
        self._log_refused(request.arrival, "refused from %s: %s %s", request.source, code, self.clip(message))
        request.replies.reply("/liveai/error", code, self.clip(message))

    def clip(self, text: str) -> str:
        """A string liveai echoes, cut to `osc.max_echo_chars`."""
        return clip(text, self.config.max_echo_chars)
