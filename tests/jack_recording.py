"""A JACK port recorded in memory by a client of the test, each cycle at its own frame of
JACK's clock: a cycle the recorder missed stays silence in its place, counted, and never
shifts what follows (as a block dropped by a file recorder does). The server's xruns (a
cycle run late: the dummy driver loses those frames for good) are counted beside."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class Recording:
    def __init__(self, server: str, port: str, seconds: float) -> None:
        import jack  # JACK-Client, a dependency: missing, the test fails (never skips)

        self.client: Any = jack.Client("liveai-rec", no_start_server=True, servername=server)
        self.rate = int(self.client.samplerate)
        self.heard = self.client.inports.register("heard")
        self.audio = np.zeros(round(seconds * self.rate), dtype=np.float32)
        self.first: int | None = None
        self.received = 0  # frames recorded
        self.xruns = 0
        self.done = threading.Event()
        self.closed = False
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()
        self.client.connect(port, self.heard)

    def _process(self, frames: int) -> None:
        now = self.client.last_frame_time
        if self.first is None:
            self.first = now
        at = now - self.first
        n = min(frames, len(self.audio) - at)
        if n > 0:
            self.audio[at : at + n] = self.heard.get_array()[:n]
            self.received += n
        else:
            self.done.set()

    def _xrun(self, delay: float) -> None:
        self.xruns += 1

    @property
    def missed(self) -> int:
        """Frames of the recording no cycle delivered."""
        return len(self.audio) - self.received

    def wait(self, timeout: float) -> np.ndarray:
        try:
            if not self.done.wait(timeout):
                raise TimeoutError("the recording's JACK client did not reach its end")
        finally:
            self.close()
        return self.audio

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.client.deactivate()
            self.client.close()
