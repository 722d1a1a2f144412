"""The three files of a learned model, NAME.pt, NAME.md (its card) and NAME.png (its
piano roll), replaced together: each is written under a temporary name first, then all
are renamed at once with SIGINT and SIGTERM held off, and a piano roll the new card
does not show is removed. A learn killed or interrupted at any point leaves either the
previous model's files or the new ones, never a card that does not match its weights."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

HELD = {signal.SIGINT, signal.SIGTERM}


def staged(path: Path) -> Path:
    """Where `path` is written before it is committed (not *.pt, *.md or *.png: never
    taken for a model or a card)."""
    return path.with_name(path.name + ".new")


def learned_on(path: Path) -> str | None:
    """The local date and time the model at `path` was written, or None if there is none."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    except OSError:
        return None


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (then they are handled as usual). A
    signal mask would not do: it holds them off the calling thread only, and the kernel
    hands them to another (torch's workers), whose signal Python handles here all the same.
    So the block's own handlers only note them, and they are raised again after it."""
    if threading.current_thread() is not threading.main_thread():  # handlers are the main thread's to set
        yield
        return
    arrived: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: arrived.append(signum)) for sig in HELD}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(arrived):
            signal.raise_signal(sig)


def commit(paths: list[Path], remove: list[Path]) -> None:
    """Rename the staged files of `paths` onto them and remove `remove`, all at once."""
    with signals_held():
        for path in remove:
            path.unlink(missing_ok=True)
        for path in paths:
            staged(path).replace(path)


def discard(paths: list[Path]) -> None:
    """Remove what was staged for `paths` and not committed (an error, a second Ctrl-C)."""
    for path in paths:
        staged(path).unlink(missing_ok=True)
