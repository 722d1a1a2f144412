"""Reopen a transport with backoff while the rest of liveai keeps playing.

Adapters never retry on their own: they raise TransportError when their peer goes away
and the supervisor opens them again (aiomqtt's reconnection pattern).
"""

from __future__ import annotations

import asyncio
import logging

from ..errors import TransportError
from .base import Transport

log = logging.getLogger(__name__)


async def supervise(transport: Transport, initial_s: float = 0.25) -> None:
    """Open and serve `transport` forever; after a TransportError wait (doubling up to
    its `reconnect_max_s`) and open it again. The first failure of an outage is a warning,
    repeats are debug."""
    loop = asyncio.get_running_loop()
    maximum_s = transport.reconnect_max_s
    delay = initial_s
    last_problem = ""
    while True:
        started = loop.time()
        try:
            async with transport:
                await transport.serve()
            problem = "session ended"
        except TransportError as exc:
            problem = str(exc)
        if loop.time() - started > maximum_s:
            delay, last_problem = initial_s, ""  # it ran fine for a while: a new outage
        level = logging.DEBUG if problem == last_problem else logging.WARNING
        log.log(level, "%s: %s; retrying in %.2g s", transport.name, problem, delay)
        last_problem = problem
        await asyncio.sleep(delay)
        delay = min(delay * 2, maximum_s)
