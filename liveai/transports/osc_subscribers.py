"""Who hears what liveai says besides `osc.targets`: the clients that subscribed.

The table is bounded. A patch that reloads subscribes again from a new port and its
old subscription is dead, so one host keeps at most `max_subscribers_per_host` (its
oldest gives way); when the table is full, the subscriber whose host has been silent
longest gives way, if it has been silent for `subscriber_idle_s`; else the new one is
refused.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator

from ..config import OscConfig
from ..core.stats import Stats
from ..errors import CommandError

log = logging.getLogger(__name__)

Address = tuple[str, int]


class Subscribers:
    def __init__(self, config: OscConfig, stats: Stats) -> None:
        self.config = config
        self.stats = stats
        self._since: OrderedDict[Address, float] = OrderedDict()  # oldest subscription first
        self._heard: dict[str, float] = {}  # host -> when a datagram last came from it

    def __iter__(self) -> Iterator[Address]:
        return iter(list(self._since))

    def __len__(self) -> int:
        return len(self._since)

    def __contains__(self, address: object) -> bool:
        return address in self._since

    def heard(self, host: str, now: float) -> None:
        """A datagram came from `host` (only hosts that subscribed are remembered)."""
        if host in self._heard:
            self._heard[host] = now

    def add(self, address: Address, now: float) -> None:
        if address in self._since:
            self._since[address] = now  # a renewal
            self._since.move_to_end(address)
            return
        host = address[0]
        mine = [a for a in self._since if a[0] == host]
        if len(mine) >= self.config.max_subscribers_per_host:
            self._drop(mine[0], "replaced by the same host's newer subscription")
        elif len(self._since) >= self.config.max_subscribers:
            idle = min(self._since, key=lambda a: self._heard.get(a[0], 0.0))
            if now - self._heard.get(idle[0], 0.0) < self.config.subscriber_idle_s:
                self.stats.count("subscribe_refused")
                raise CommandError(
                    "busy",
                    f"subscriber limit reached (osc.max_subscribers = "
                    f"{self.config.max_subscribers}) and none is idle",
                )
            self._drop(idle, "idle, replaced")
        self._since[address] = now
        self._heard[host] = now

    def remove(self, address: Address) -> bool:
        if self._since.pop(address, None) is None:
            return False
        if not any(a[0] == address[0] for a in self._since):
            self._heard.pop(address[0], None)
        return True

    def _drop(self, address: Address, why: str) -> None:
        self.stats.count("subscribers_replaced")
        self.remove(address)
        log.info("osc subscriber %s:%d %s", address[0], address[1], why)
