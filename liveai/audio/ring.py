"""A single-producer, single-consumer ring of float32 samples in shared memory: the
render process writes, the output process's callback reads.

No lock: each side moves only its own counter, and reads the other's only to know how
much it may touch; a counter moves after the samples it covers are written (aligned
int64 stores, which x86 keeps whole and in order; on ARM the order rests on the
Python calls between the stores, which are far slower than the hardware's reordering).
The `Header` before the samples carries the counters and what each process reports;
each field has one writer while the processes run, and liveai sets a field only when
the process that writes it has ended (its counters, summed, then zeroed).

The memory is one anonymous memory file (`Ring.create`, memfd), created by liveai and
handed to its two synth processes by its descriptor (`Ring.attach`); it is allocated
once.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import tempfile

import numpy as np

HEADER_BYTES = 256  # the samples start here, past the header


class Header(ctypes.Structure):
    """The ring's counters and the processes' reports, named; int64 each."""

    _fields_ = [
        # the ring; its writer in brackets
        ("written", ctypes.c_int64),  # samples written (render)
        ("read", ctypes.c_int64),  # samples the callback took (output)
        ("capacity", ctypes.c_int64),  # samples the ring holds (liveai, once)
        # the callback's reports (output): its latest anchor, which sample reached it
        # when, under a sequence count, so that a reader never takes half of two
        ("anchor_seq", ctypes.c_int64),
        ("anchor_sample", ctypes.c_int64),
        ("anchor_ns", ctypes.c_int64),
        ("blocks", ctypes.c_int64),
        ("underruns", ctypes.c_int64),
        ("xruns", ctypes.c_int64),
        ("last_ns", ctypes.c_int64),  # time.monotonic_ns() of the latest callback
        ("frames", ctypes.c_int64),  # frames the device asks for per callback
        # liveai's: moved before it starts an output process (the render starts from silence)
        ("stream", ctypes.c_int64),
        # the render process's: its pid (0 while none runs), then its reports
        ("render_pid", ctypes.c_int64),
        ("renders", ctypes.c_int64),
        ("render_p50_us", ctypes.c_int64),
        ("render_p99_us", ctypes.c_int64),
        ("late", ctypes.c_int64),
        ("voices", ctypes.c_int64),
        ("realtime", ctypes.c_int64),
        ("render_ns", ctypes.c_int64),  # time.monotonic_ns() of its latest turn: a sign of life
    ]


assert ctypes.sizeof(Header) <= HEADER_BYTES


class Ring:
    def __init__(self, memory: mmap.mmap, fd: int) -> None:
        self.memory, self.fd = memory, fd
        self.header = Header.from_buffer(memory)
        self.capacity = self.header.capacity
        self.buffer = np.frombuffer(memory, dtype=np.float32, count=self.capacity, offset=HEADER_BYTES)

    @classmethod
    def create(cls, capacity: int) -> Ring:
        size = HEADER_BYTES + capacity * 4
        if hasattr(os, "memfd_create"):  # memory, never written back to a disk
            fd = os.memfd_create("liveai-ring")
        else:  # an unnamed temporary file: freed with its last descriptor
            with tempfile.TemporaryFile(prefix="liveai-ring-") as file:
                fd = os.dup(file.fileno())
        os.ftruncate(fd, size)
        ring = cls(mmap.mmap(fd, size), fd)
        ring.header.capacity = ring.capacity = capacity
        ring.buffer = np.frombuffer(ring.memory, dtype=np.float32, count=capacity, offset=HEADER_BYTES)
        return ring

    @classmethod
    def attach(cls, fd: int) -> Ring:
        return cls(mmap.mmap(fd, os.fstat(fd).st_size), fd)

    @property
    def written(self) -> int:
        return self.header.written

    @property
    def read(self) -> int:
        return self.header.read

    def filled(self) -> int:
        return max(self.written - self.read, 0)

    def space(self) -> int:
        return self.capacity - self.filled()

    # -- the producer ---------------------------------------------------------------------
    def write(self, samples: np.ndarray) -> int:
        """Append as many of `samples` as fit; returns how many. After an underrun the
        reader is ahead: the samples it played as silence are skipped, so every sample
        keeps its place in time."""
        read = self.read  # once: the reader moves it meanwhile
        written = max(self.written, read)
        n = min(len(samples), self.capacity - (written - read))
        at = written % self.capacity
        first = min(n, self.capacity - at)
        self.buffer[at : at + first] = samples[:first]
        self.buffer[: n - first] = samples[first:n]
        self.header.written = written + n
        return n

    def write_position(self) -> int:
        """The sample the next write lands on (after an underrun, the reader's)."""
        return max(self.written, self.read)

    def skip_to_written(self) -> None:
        """Drop what is queued (the producer's side, with no consumer running)."""
        self.header.read = self.header.written

    def anchor(self) -> tuple[int, float] | None:
        """(sample, time.monotonic()) of the latest callback, or None before the first."""
        for _ in range(100):
            header = self.header
            seq = header.anchor_seq
            sample, ns = header.anchor_sample, header.anchor_ns
            if seq % 2 == 0 and seq == header.anchor_seq:
                return None if seq == 0 else (sample, ns / 1e9)
        return None

    # -- the consumer ---------------------------------------------------------------------
    def read_into(self, out: np.ndarray) -> int:
        """Fill `out` from the ring, oldest first; returns how many samples it had
        (the rest of `out` is left as it was). The read position moves by all of
        `out` even when the ring was short: the stream's time moved on."""
        read = self.read
        n = max(min(len(out), self.written - read), 0)
        at = read % self.capacity
        first = min(n, self.capacity - at)
        out[:first] = self.buffer[at : at + first]
        out[first:n] = self.buffer[: n - first]
        self.header.read = read + len(out)
        return n

    def set_anchor(self, sample: int, ns: int) -> None:
        header = self.header
        header.anchor_seq += 1
        header.anchor_sample = sample
        header.anchor_ns = ns
        header.anchor_seq += 1

    def close(self) -> None:
        self.header = self.buffer = None  # type: ignore[assignment]  (views first, then the map)
        try:
            self.memory.close()
        except BufferError:  # a view of the header still held (a traceback's frame): the GC unmaps it
            pass
        os.close(self.fd)
