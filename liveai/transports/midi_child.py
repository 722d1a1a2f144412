"""The MIDI process seen from liveai: start it, hand it frames without ever
blocking the loop, read its frames and sum up what it says on stderr.

Its frames come on a pipe of their own (`frames_fd` in its config); its stdout and
stderr share one pipe, the chatter: the C libraries' (libjack prints `Server is not
running`, `CheckRes error`... on file descriptor 2 when its server goes) and anything
printed. liveai reads it on the loop and keeps a count and the last line; the
transport says them in one debug line per event of its own, and names the last line
when the process ends unasked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from .midi_wire import FrameReader

log = logging.getLogger(__name__)

MODULE = "liveai.transports.midi_process"
# a process asked to stop (stdin closed) has this long to send its last notes and close its ports
STOP_S = 3.0

Frames = Callable[[list[tuple[int, bytes]]], None]


class Chatter:
    """What a process said on stderr since it was last summed up: a count, the last line."""

    def __init__(self) -> None:
        self.lines = 0
        self.last = ""
        self._partial = b""

    def feed(self, data: bytes) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-1000:]  # a line without its end yet (bounded)
        for line in lines:
            if line.strip():
                self.lines += 1
                self.last = line.decode(errors="replace").strip()[:200]

    def take(self) -> str:
        """'N lines, the last: ...' ('' when nothing was said), and start again."""
        if not self.lines:
            return ""
        said = f"{self.lines} line{'s' if self.lines > 1 else ''}, the last: {self.last}"
        self.lines, self.last = 0, ""
        return said


class MidiChild:
    def __init__(self, config: dict[str, Any], on_frames: Frames) -> None:
        self.config = config
        self.on_frames = on_frames
        self.chatter = Chatter()
        self.process: subprocess.Popen[bytes] | None = None
        self.ended: asyncio.Future[None] | None = None  # done when its frames end (it exited)
        self._reader = FrameReader()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._to: int = -1  # its stdin, non-blocking
        self._frames: int = -1  # the read end of its frames' pipe
        self._chat: int = -1  # the read end of its stdout and stderr

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.ended = self._loop.create_future()
        self._frames, frames_w = os.pipe()
        self._chat, chat_w = os.pipe()
        try:
            config = {**self.config, "frames_fd": frames_w}
            # Started off the loop: forking a process the size of liveai (torch) takes a while.
            self.process = await asyncio.to_thread(
                subprocess.Popen,
                [sys.executable, "-m", MODULE, json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=chat_w,
                stderr=chat_w,
                pass_fds=(frames_w,),
                bufsize=0,
            )
        except BaseException:
            self._close_pipes()
            raise
        finally:  # the child's ends: its exit then ends the pipes
            os.close(frames_w)
            os.close(chat_w)
        assert self.process.stdin is not None
        self._to = self.process.stdin.fileno()
        for fd in (self._to, self._frames, self._chat):
            os.set_blocking(fd, False)
        self._loop.add_reader(self._frames, self._read_frames)
        self._loop.add_reader(self._chat, self._read_chatter)

    def write(self, data: bytes) -> bool:
        """Hand it a frame; False when it cannot take it now (its pipe is full: it is
        stalled) or it has gone."""
        try:
            os.write(self._to, data)
        except (BlockingIOError, BrokenPipeError, OSError):
            return False
        return True

    def _read_frames(self) -> None:
        try:
            data = os.read(self._frames, 65536)
        except BlockingIOError:
            return
        except OSError as exc:
            data = b""
            self.chatter.feed(f"reading the MIDI process failed: {exc}\n".encode())
        if not data:
            self._loop_forget()
            if self.ended is not None and not self.ended.done():
                self.ended.set_result(None)
            return
        self.on_frames(self._reader.feed(data))

    def _read_chatter(self) -> None:
        try:
            data = os.read(self._chat, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            assert self._loop is not None
            self._loop.remove_reader(self._chat)
            return
        self.chatter.feed(data)

    def _loop_forget(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        for fd in (self._frames, self._chat):
            if fd >= 0:
                loop.remove_reader(fd)

    def _close_pipes(self) -> None:
        for fd in (self._frames, self._chat):
            if fd >= 0:
                os.close(fd)
        self._frames = self._chat = -1

    async def stop(self, gently: bool) -> int | None:
        """Close its stdin (it sends what it was given and closes its ports) and wait
        for it up to STOP_S (`gently`) or not at all, then kill it; read the rest of its
        chatter. Its exit code."""
        process = self.process
        if process is None:
            return None
        self._loop_forget()
        assert process.stdin is not None
        try:
            process.stdin.close()
        except OSError:  # its last bytes could not be flushed: it is gone
            pass
        try:
            code = await asyncio.to_thread(process.wait, STOP_S if gently else 0.05)
        except subprocess.TimeoutExpired:
            process.kill()
            code = await asyncio.to_thread(process.wait)
        while True:  # what it said last (it has ended: the pipe holds all of it)
            try:
                data = os.read(self._chat, 65536)
            except OSError:
                break
            if not data:
                break
            self.chatter.feed(data)
        self._close_pipes()
        return code
