"""liveai and its MIDI process talk in frames on pipes: a kind, a length, a payload.

    liveai -> process   OUT   the bytes of one MIDI message, for every output
                        OUT_TO  a group number, the bytes of one MIDI message: for the
                              outputs of that group (`midi.output_latency_ms`)
    process -> liveai   IN    arrival time (time.monotonic(), one clock for every process),
                              the input's number, the bytes of one MIDI message
                        SAY   a JSON object: ready, opened, gone, lost, counts, log
                              (counts at least every HEARTBEAT_S: the heartbeat)

The process writes its frames on a pipe of their own (not its stdout, which points at
its stderr), so nothing a library prints can break the framing.

A frame is written whole in one write (a pipe never splits a write of up to PIPE_BUF
bytes), so two threads may write frames to one pipe. Nothing is pickled.
"""

from __future__ import annotations

import json
import struct
from typing import Any

HEADER = struct.Struct("<BH")  # kind, payload length
ARRIVAL = struct.Struct("<dH")  # IN: arrival time, input number
OUT, IN, SAY, OUT_TO = 1, 2, 3, 4
MAX_PAYLOAD = 4096  # a SAY longer than this is cut (a port name list, a log line); PIPE_BUF is 4096
HEARTBEAT_S = 1.0  # the process says its counts at least this often, so liveai knows it lives
# a process silent this long is stuck in a MIDI call: liveai restarts it (seconds: a busy machine)
HUNG_S = 5.0


def frame(kind: int, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def out_frame(message: bytes) -> bytes:
    return frame(OUT, message)


def out_to_frame(group: int, message: bytes) -> bytes:
    return frame(OUT_TO, bytes((group,)) + message)


def latency_group(name: str, texts: list[str]) -> int:
    """An output's group: 1 + the first of `texts` (`midi.output_latency_ms`) its name
    holds, in any case; 0 when none does."""
    return next((i + 1 for i, text in enumerate(texts) if text.lower() in name.lower()), 0)


def in_frame(arrival: float, number: int, message: bytes) -> bytes:
    return frame(IN, ARRIVAL.pack(arrival, number) + message)


def say_frame(**fields: Any) -> bytes:
    payload = json.dumps(fields).encode()
    if len(payload) > MAX_PAYLOAD - HEADER.size:
        payload = json.dumps(
            {
                "event": "log",
                "level": "warning",
                "message": f"a report of {len(payload)} bytes was cut: {payload[:200]!r}",
            }
        ).encode()
    return frame(SAY, payload)


def parse_in(payload: bytes) -> tuple[float, int, bytes]:
    """(arrival, input number, message bytes) of an IN payload."""
    arrival, number = ARRIVAL.unpack_from(payload)
    return arrival, number, payload[ARRIVAL.size :]


def parse_say(payload: bytes) -> dict[str, Any]:
    """A SAY payload; ValueError when it is not a JSON object."""
    said = json.loads(payload)
    if not isinstance(said, dict):
        raise ValueError(f"a report must be a JSON object, not {type(said).__name__}")
    return said


class FrameReader:
    """Whole frames out of the bytes read so far (a read may end inside a frame)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """(kind, payload) of every frame completed by `data`, oldest first."""
        buffer = self._buffer + data
        frames = []
        at = 0
        while len(buffer) - at >= HEADER.size:
            kind, length = HEADER.unpack_from(buffer, at)
            end = at + HEADER.size + length
            if end > len(buffer):
                break
            frames.append((kind, buffer[at + HEADER.size : end]))
            at = end
        self._buffer = buffer[at:]
        return frames
