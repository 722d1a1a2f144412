"""Home Assistant discovery on liveai's MQTT connection (`mqtt.discovery`).

On: the device (control/homeassistant.py) is published retained at each connection, so a
restarted broker learns it again, and once more whenever `<prefix>/status` says `online`
(Home Assistant's birth message: a restarted Home Assistant learns it too). A clean
shutdown leaves it: the retained `offline` status, as the last will would, makes Home
Assistant show the device unavailable, and it comes back with the same entities.

Off: liveai looks for a device config it left retained when discovery was on, and
removes it (an empty retained payload: Home Assistant deletes the device). Turning
discovery off is what removes the device, not stopping liveai.
"""

from __future__ import annotations

import json
import logging
import time

import aiomqtt

from .. import __version__
from ..config import MqttConfig
from ..control.homeassistant import ONLINE, announcement, config_topic
from ..control.table import CommandTable
from ..core.commands import MQTT
from ..core.stats import Stats

log = logging.getLogger(__name__)
# Anyone on the broker may say `online`: answered with an announce at most this often
ANNOUNCE_EVERY_S = 5.0


class Discovery:
    """What `mqtt.discovery` adds to the MQTT transport: a topic to subscribe to when
    connected, and the messages on it."""

    def __init__(self, config: MqttConfig, table: CommandTable, stats: Stats) -> None:
        self.enabled = config.discovery
        self.stats = stats
        self.topic = config_topic(config.discovery_prefix, config.instance)
        # Home Assistant's status when on; our own config topic when off (to find one left retained)
        self.heard_on = f"{config.discovery_prefix}/status" if self.enabled else self.topic
        device = announcement(table.carried_by(MQTT), config.instance, __version__)
        self.payload = json.dumps(device, separators=(",", ":"))
        self._answered = -ANNOUNCE_EVERY_S  # when an `online` was last answered

    async def connected(self, broker: aiomqtt.Client) -> None:
        await broker.subscribe(self.heard_on, qos=1)
        if self.enabled:
            await self._announce(broker)

    async def heard(self, broker: aiomqtt.Client, message: aiomqtt.Message) -> bool:
        """Whether the message was for discovery (handled here)."""
        if not message.topic.matches(self.heard_on):
            return False
        payload = message.payload if isinstance(message.payload, (bytes, bytearray)) else b""
        if self.enabled and not message.retain and bytes(payload).strip() == ONLINE.encode():
            # Home Assistant (re)started: it may have forgotten us (a retained birth message
            # comes at each connection, which announces anyway)
            if time.monotonic() - self._answered >= ANNOUNCE_EVERY_S:
                self._answered = time.monotonic()
                await self._announce(broker)
            else:
                self.stats.count("mqtt_discovery_throttled")
        elif not self.enabled and message.retain and payload:
            await broker.publish(self.topic, b"", qos=1, retain=True)
            self.stats.count("mqtt_discovery_removed")
            log.info("mqtt.discovery is off: removed the Home Assistant device at %s", self.topic)
        return True

    async def _announce(self, broker: aiomqtt.Client) -> None:
        await broker.publish(self.topic, self.payload, qos=1, retain=True)
        self.stats.count("mqtt_discovery_sent")
        log.debug("announced the Home Assistant device at %s", self.topic)
