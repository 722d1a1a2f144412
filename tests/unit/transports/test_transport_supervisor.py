"""A transport that keeps failing is opened again with backoff; its log says each new
problem once as a warning and the retries of the same one at debug."""

from __future__ import annotations

import asyncio
import logging

import pytest

from liveai.errors import TransportError
from liveai.transports.base import Transport
from liveai.transports.supervisor import supervise


class Failing(Transport):
    name = "midi"
    reconnect_max_s = 1.0  # waits of 1, 2, 4... ms: never "ran fine for a while"

    def __init__(self, problems: list[str]) -> None:
        super().__init__()
        self.problems = problems
        self.opened = 0

    async def _open(self) -> None:
        self.opened += 1
        if not self.problems:
            await asyncio.Event().wait()  # the last attempt hangs until cancelled
        raise TransportError(self.problems.pop(0))

    async def _close(self, lost: bool) -> None:
        pass


async def test_a_new_problem_is_a_warning_and_its_retries_are_debug(caplog):
    transport = Failing(["no JACK server"] * 4 + ["port taken"] * 2)
    with caplog.at_level(logging.DEBUG, logger="liveai.transports.supervisor"):
        task = asyncio.create_task(supervise(transport, initial_s=0.001))
        while transport.opened < 7:  # the six failures, then the attempt that hangs
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "liveai.transports.supervisor"]
    warnings = [m for level, m in said if level == logging.WARNING]
    assert len(warnings) == 2 and "no JACK server" in warnings[0] and "port taken" in warnings[1]
    assert all(m.startswith("reopening midi in ") for _, m in said)
    assert [level for level, _ in said].count(logging.DEBUG) == 4


class Flaky(Failing):
    """Fails at once twice, then serves longer than `reconnect_max_s` before failing the same way."""

    reconnect_max_s = 0.2

    async def _open(self) -> None:
        self.opened += 1
        if self.opened in (1, 2, 4):
            raise TransportError("no JACK server")
        if self.opened > 4:
            await asyncio.Event().wait()

    async def serve(self) -> None:
        await asyncio.sleep(0.3)
        raise TransportError("no JACK server")


async def test_the_same_problem_after_a_good_run_is_a_new_outage_said_at_once(caplog):
    transport = Flaky([])
    with caplog.at_level(logging.DEBUG, logger="liveai.transports.supervisor"):
        task = asyncio.create_task(supervise(transport, initial_s=0.001))
        while transport.opened < 5:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    said = [r.levelno for r in caplog.records if r.name == "liveai.transports.supervisor"]
    assert said == [logging.WARNING, logging.DEBUG, logging.WARNING, logging.DEBUG]
