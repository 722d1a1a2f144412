"""`liveai serve` with faults injected, for tests/integration/test_fault_injection.py:

    python tests/peers/flaky_server.py K serve --set ...

Every K-th call of each kind raises, after it has done its work: a behaviour's
note_on, note_off, control, beat and upcoming_beat (whatever the mode), the timers a
behaviour sets (Context.call_at), and the model's replies (WorkerPort.replier, and
the `done` of WorkerPort.submit). Raising after the work leaves the music as it would
be and isolates what is under test: that the loop running the call contains the
fault and runs the next item. FLAKY_COMMAND=<address> in the environment makes that
command's handler raise at every call (after its work), whichever transport carried
it. At exit it says how many faults it injected.

The product has no switch for this: the wrapping is done here, in the test's own
process, before liveai's command line runs.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

from liveai import cli
from liveai.behaviours.registry import Registry
from liveai.control.table import CommandTable
from liveai.core.context import Context
from liveai.runtime.port import WorkerPort

EVERY = int(sys.argv.pop(1))
calls: Counter[str] = Counter()


class InjectedFault(Exception):
    pass


def flaky(kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        result = fn(*args)
        calls[kind] += 1
        if calls[kind] % EVERY == 0:
            raise InjectedFault(f"{kind} #{calls[kind]}")
        return result

    return call


class Flaky:
    """A behaviour whose calls from the session raise every EVERY-th time."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        for method in ("note_on", "note_off", "control", "beat", "upcoming_beat"):
            setattr(self, method, flaky(method, getattr(inner, method)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def inject() -> None:
    make, call_at = Registry.make, Context.call_at
    replier, submit = WorkerPort.replier, WorkerPort.submit
    Registry.make = lambda self, mode, ctx, ears: Flaky(make(self, mode, ctx, ears))  # type: ignore[method-assign]
    Context.call_at = lambda self, at, fn: call_at(self, at, flaky("timer", fn))  # type: ignore[method-assign]
    WorkerPort.replier = lambda self, callback: replier(self, flaky("reply", callback))  # type: ignore[method-assign]
    WorkerPort.submit = lambda self, session, job, done=None, *how: (  # type: ignore[method-assign]
        submit(self, session, job, None if done is None else flaky("reply", done), *how)
    )
    if address := os.environ.get("FLAKY_COMMAND"):
        table = CommandTable.__init__

        def flaky_table(self: CommandTable, *args: Any) -> None:
            table(self, *args)
            command = self.commands[address]
            object.__setattr__(command, "handler", flaky_always(command.handler))

        CommandTable.__init__ = flaky_table  # type: ignore[method-assign]


def flaky_always(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        fn(*args)
        calls["command"] += EVERY  # counted as one fault
        raise InjectedFault(f"{fn.__name__} #{calls['command'] // EVERY}")

    return call


if __name__ == "__main__":
    inject()
    code = cli.main()
    injected = sum(n // EVERY for n in calls.values())
    print(f"injected {injected} faults in {dict(calls)} calls", file=sys.stderr, flush=True)  # for the test
    sys.exit(code)
