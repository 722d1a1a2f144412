"""The note-record pipe: liveai's notes on their way to the render process, as fixed records.

A record is a note's due time (`time.monotonic()`, one clock for every process), its
pitch (or ALL_NOTES_OFF, PEDAL), velocity and layer. Records are 12 bytes, written whole
(a pipe never splits a write of up to PIPE_BUF bytes); nothing is pickled.

The writer never blocks the event loop: when the pipe is full (the render process
stalled or gone) the record is dropped and counted, and the next record that fits is
preceded by all notes off (liveai's, which ends every voice), so a lost note-off leaves
nothing ringing.
"""

from __future__ import annotations

import fcntl
import os
import struct

from .voices import LIVEAI

# A record's pitch that is not a note (and the module has no torch: liveai imports it at start)
ALL_NOTES_OFF = -1  # liveai's: every voice (a panic); the player's: the player's voices
PEDAL = -2  # the layer's sustain pedal, as the velocity: 64 and up down, else up

RECORD = struct.Struct("<dhBB")  # due time, pitch, velocity, layer
PIPE_BYTES = 1 << 20  # asked for (Linux's default maximum): about 87,000 records
READ_BYTES = RECORD.size * 5461  # whole records at a time (64 KiB)
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)

Record = tuple[float, int, int, int]  # (t, pitch, velocity, layer)


def open_pipe() -> tuple[int, int]:
    """(read end, write end), both non-blocking, as large as the system allows."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    try:
        fcntl.fcntl(w, F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:  # a smaller limit (/proc/sys/fs/pipe-max-size): the default 64 KiB then
        pass
    return r, w


class RecordWriter:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.dropped = 0
        self._lost = False  # records were dropped: all notes off goes first when the pipe has room

    def send(self, t: float, pitch: int, velocity: int, layer: int) -> bool:
        """Write one record; False (and counted) when the pipe is full."""
        data = RECORD.pack(t, pitch, velocity, layer)
        if self._lost:
            data = RECORD.pack(t, ALL_NOTES_OFF, 0, LIVEAI) + data
        try:
            os.write(self.fd, data)
        except BlockingIOError:
            self.dropped += 1
            self._lost = True
            return False
        self._lost = False
        return True


class RecordReader:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.closed = False  # every writer has closed the pipe (liveai is gone)
        self._partial = b""

    def read(self) -> list[Record]:
        """Every record waiting on the pipe, oldest first (none when it is empty)."""
        chunks = [self._partial]
        while True:
            try:
                chunk = os.read(self.fd, READ_BYTES)
            except BlockingIOError:
                break
            if not chunk:
                self.closed = True
                break
            chunks.append(chunk)
        data = b"".join(chunks)
        whole = len(data) - len(data) % RECORD.size
        self._partial = data[whole:]
        return list(RECORD.iter_unpack(data[:whole]))
