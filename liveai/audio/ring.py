"""A single-producer, single-consumer ring of float32 samples in shared memory (#12):
the render process writes, the audio process's callback reads.

No lock: each side moves only its own counter, and reads the other's only to know how
much it may touch; a counter moves after the samples it covers are written (aligned
int64 stores, which x86 keeps whole and in order; on ARM the order rests on the
Python calls between the stores, which are far slower than the hardware's reordering). The header
also carries what the callback reports: blocks played, underruns, and its latest
anchor (which sample reached the callback when) under a sequence count, so a reader
never takes half of one anchor and half of the next; the stream's number, which liveai
moves before it starts an audio process (the render process then starts from silence);
and what the render process reports for liveai's status. Each slot has one writer while
the processes run; liveai sets a slot only when the process that writes it has ended
(its counters, carried over, then zeroed).

The memory is one anonymous memory file (`Ring.create`, memfd), created by liveai and
handed to its two audio processes by its descriptor (`Ring.attach`); it is allocated
once.
"""

from __future__ import annotations

import mmap
import os
import tempfile

import numpy as np

# The ring and the callback's reports (the audio process writes them).
WRITTEN, READ, ANCHOR_SEQ, ANCHOR_SAMPLE, ANCHOR_NS, BLOCKS, UNDERRUNS, XRUNS, LAST_NS, CAPACITY, FRAMES = (
    range(11)
)
# The stream's number (liveai writes it); the render process's own number (its pid, 0
# while none runs), then its reports: times in microseconds, percentiles over its latest
# renders.
STREAM, RENDERER, RENDERS, RENDER_P50_US, RENDER_P99_US, LATE, VOICES, REALTIME = range(11, 19)
HEADER = 32  # int64 slots


class Ring:
    def __init__(self, memory: mmap.mmap, fd: int) -> None:
        self.memory, self.fd = memory, fd
        self.header = np.frombuffer(memory, dtype=np.int64, count=HEADER)
        self.capacity = int(self.header[CAPACITY])
        self.buffer = np.frombuffer(memory, dtype=np.float32, count=self.capacity, offset=HEADER * 8)

    @classmethod
    def create(cls, capacity: int) -> Ring:
        size = HEADER * 8 + capacity * 4
        if hasattr(os, "memfd_create"):  # memory, never written back to a disk
            fd = os.memfd_create("liveai-ring")
        else:  # an unnamed temporary file: freed with its last descriptor
            with tempfile.TemporaryFile(prefix="liveai-ring-") as file:
                fd = os.dup(file.fileno())
        os.ftruncate(fd, size)
        ring = cls(mmap.mmap(fd, size), fd)
        ring.header[CAPACITY] = capacity
        ring.capacity = capacity
        ring.buffer = np.frombuffer(ring.memory, dtype=np.float32, count=capacity, offset=HEADER * 8)
        return ring

    @classmethod
    def attach(cls, fd: int) -> Ring:
        return cls(mmap.mmap(fd, os.fstat(fd).st_size), fd)

    @property
    def written(self) -> int:
        return int(self.header[WRITTEN])

    @property
    def read(self) -> int:
        return int(self.header[READ])

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
        self.header[WRITTEN] = written + n
        return n

    def write_position(self) -> int:
        """The sample the next write lands on (after an underrun, the reader's)."""
        return max(self.written, self.read)

    def skip_to_written(self) -> None:
        """Drop what is queued (the producer's side, with no consumer running)."""
        self.header[READ] = self.header[WRITTEN]

    def anchor(self) -> tuple[int, float] | None:
        """(sample, time.monotonic()) of the latest callback, or None before the first."""
        for _ in range(100):
            seq = int(self.header[ANCHOR_SEQ])
            sample, ns = int(self.header[ANCHOR_SAMPLE]), int(self.header[ANCHOR_NS])
            if seq % 2 == 0 and seq == int(self.header[ANCHOR_SEQ]):
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
        self.header[READ] = read + len(out)
        return n

    def set_anchor(self, sample: int, ns: int) -> None:
        header = self.header
        header[ANCHOR_SEQ] += 1
        header[ANCHOR_SAMPLE] = sample
        header[ANCHOR_NS] = ns
        header[ANCHOR_SEQ] += 1

    def close(self) -> None:
        self.header = self.buffer = None  # type: ignore[assignment]  (views first, then the map)
        self.memory.close()
        os.close(self.fd)
