"""Reopen a transport with backoff while the rest of liveai keeps playing.

Adapters never retry on their own: they raise TransportError when their peer goes away
and the supervisor opens them again (aiomqtt's reconnection pattern).
"""

from __future__ import annotations

import asyncio
import logging

from ..core.stats import LogThrottle
from ..errors import TransportError
from .base import Transport

log = logging.getLogger(__name__)


async def supervise(transport: Transport, initial_s: float = 0.25) -> None:
    """Open and serve `transport` forever; after a TransportError wait (doubling up to
    its `reconnect_max_s`) and open it again. A new problem is a warning, its retries
    are debug (a warning a minute while it lasts)."""
    loop = asyncio.get_running_loop()
    maximum_s = transport.reconnect_max_s
    delay = initial_s
    say = LogThrottle(log, "more retries", interval_s=60.0, level=logging.WARNING, repeats=logging.DEBUG)
    while True:
        started = loop.time()
        try:
            async with transport:
                await transport.serve()
            problem = "session ended"
        except TransportError as exc:
            problem = str(exc)
        if loop.time() - started > maximum_s:  # it ran fine for a while: a new outage
            delay = initial_s
            say.reset()
        say(loop.time(), "reopening %s in %.2g s: %s", transport.name, delay, problem, problem=problem)
        await asyncio.sleep(delay)
        delay = min(delay * 2, maximum_s)
