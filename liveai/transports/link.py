"""Ableton Link: liveai joins the session and keeps its beat on the session's timeline.

Link (GPLv2+) comes through aalink (GPLv3+), an optional extra (`pip install
liveai[link]`) so that liveai itself stays MIT. This module is the session as the
conductor's `Timeline`: the session's beat read at liveai's clock (`time.monotonic`,
the engine's `now`), its tempo, and what liveai proposes (its tempo, and with
`clock.link_start_stop` play and stop). Link's own threads call back on the loop
(aalink hands its callbacks to `call_soon_threadsafe`): a tempo or peer change
re-plans the next pulse at once; a peer's start or stop plays or stops liveai.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Any

from ..config.schema import ClockConfig
from ..config.types import TEMPO
from ..errors import ConfigError, TransportError
from ..events import Event, TransportStart, TransportStop
from .base import Transport

log = logging.getLogger(__name__)
INSTALL = 'the extra liveai[link]: scripts/setup in a checkout, else pip install "liveai[link]"'
_READS = 3  # tries at a read of the session's beat
_READ_SPAN_S = 50e-6  # a read bracketed wider than this is tried again


def available() -> bool:
    return importlib.util.find_spec("aalink") is not None


def wanted(config: ClockConfig) -> bool:
    """Whether liveai joins the Link session: ConfigError when "link" is asked and aalink
    is missing (said at startup); "auto" without it goes on quietly, said in one line."""
    if config.source == "link":
        if not available():
            raise ConfigError(f'clock.source is "link", but Ableton Link is not installed: {INSTALL}')
        return True
    if config.source == "auto" and config.link:
        if available():
            return True
        log.info("Ableton Link is off: aalink is not installed (%s)", INSTALL)
    return False


class LinkTransport(Transport):
    name = "link"

    def __init__(
        self,
        config: ClockConfig,
        bpm: float,
        now: Callable[[], float],
        join: Callable[[LinkTransport], None],
        changed: Callable[[], None],
        deliver: Callable[[Event], None],
        playing: Callable[[], bool],
    ) -> None:
        """`join(self)` once the session is joined (the conductor follows it), `changed()`
        on a tempo or peer change, `deliver` a peer's start or stop; `playing()` says
        whether liveai plays now."""
        super().__init__()
        self.config = config
        self.quantum = float(config.quantum)
        self._bpm = bpm
        self._now = now
        self._join = join
        self._changed = changed
        self._deliver = deliver
        self._playing = playing
        self._link: Any = None
        self._out_of_range = False  # the session's tempo, as last said

    async def _open(self) -> None:
        try:
            from aalink import Link
        except ImportError as exc:  # `wanted` said it is there: a broken install
            raise TransportError(f"cannot load Ableton Link ({exc}): {INSTALL}") from exc
        if self._link is None:  # one session for the server's life: reopening keeps it
            link = Link(self._bpm)
            link.quantum = self.quantum
            link.start_stop_sync_enabled = self.config.link_start_stop
            link.set_tempo_callback(self._on_tempo)
            link.set_num_peers_callback(self._on_peers)
            link.set_start_stop_callback(self._on_start_stop)
            self._link = link
        self._link.enabled = True
        log.info("joined the Ableton Link session (quantum %d)", self.config.quantum)
        self._join(self)

    async def _close(self, lost: bool) -> None:
        if self._link is not None:
            self._link.enabled = False

    def _send(self, event: Event) -> None:
        pass  # the conductor proposes through the Timeline calls below

    def report(self) -> dict[str, Any]:
        return {"link_peers": self.peers()}

    # -- the conductor's Timeline ------------------------------------------------------
    def peers(self) -> int:
        return int(self._link.num_peers) if self._link is not None else 0

    def tempo(self) -> float:
        return float(self._link.tempo)

    def beat_at(self, t: float) -> float:
        """The session's beat at liveai's time `t`: read now, and carried to `t` at the
        session's tempo."""
        beat, now = self._read()
        return beat + (t - now) * self.tempo() / 60.0

    def time_at(self, beat: float) -> float:
        now_beat, now = self._read()
        return now + (beat - now_beat) * 60.0 / self.tempo()

    def _read(self) -> tuple[float, float]:
        """The session's beat now and liveai's time of that read, the middle of two clock
        reads around it; read again (a few times at most) when a busy machine took the
        thread away between them for more than 50 µs."""
        for _ in range(_READS):
            before = self._now()
            beat = float(self._link.beat)
            after = self._now()
            if after - before <= _READ_SPAN_S:
                break
        return beat, (before + after) / 2

    def propose_tempo(self, bpm: float) -> None:
        self._link.tempo = bpm

    def propose_playing(self, playing: bool) -> None:
        if self._link.playing != playing:
            self._link.playing = playing

    # -- Link's callbacks, on the loop --------------------------------------------------
    def _on_tempo(self, bpm: float) -> None:
        out = bpm not in TEMPO
        if out and not self._out_of_range:  # once as it leaves the range, not per change
            log.warning(
                "the Link session's tempo (%.1f BPM) is outside %g..%g: liveai keeps its own "
                "tempo until it is back",
                bpm,
                TEMPO.lo,
                TEMPO.hi,
            )
        self._out_of_range = out
        self._changed()

    def _on_peers(self, peers: int) -> None:
        log.info("Link session: %d peer%s", peers, "" if peers == 1 else "s")
        self._changed()

    def _on_start_stop(self, playing: bool) -> None:
        if not self.config.link_start_stop or bool(playing) == self._playing():
            return
        self._deliver(TransportStart(t=self._now()) if playing else TransportStop(t=self._now()))
