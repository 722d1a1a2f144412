"""The public state (mode, tempo, temperature, morph, density, key...): every change
goes out as a StateChanged event, which OSC echoes and MQTT retains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..events import Event, StateChanged


class State:
    def __init__(
        self, values: dict[str, Any], send: Callable[[Event], None], now: Callable[[], float]
    ) -> None:
        self.values = values
        self._send = send
        self._now = now

    def set(self, name: str, value: Any) -> None:
        if self.values.get(name) == value:
            return
        self.values[name] = value
        self._send(StateChanged(name, value, t=self._now()))
