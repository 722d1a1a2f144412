"""mDNS advertising (python-zeroconf's async API): `_oscjson._tcp` on the web port and
`_osc._udp` on the OSC port (when OSC listens beyond loopback), which is how TouchDesigner,
Max, ossia score and python-oscquery find an OSCQuery server on the network.

Registering probes the network for a few seconds: it runs as a task of its own, and a
failure is logged and counted (`mdns_failed`); the music never waits for it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import Any

import ifaddr  # zeroconf's own way to list interfaces
from zeroconf import InterfaceChoice, IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from ..core.stats import Stats

log = logging.getLogger(__name__)

OSCQUERY_TYPE = "_oscjson._tcp.local."
OSC_TYPE = "_osc._udp.local."


def addresses(host: str) -> list[str]:
    """The IPv4 addresses to advertise for a bound host: itself, or for 0.0.0.0 this
    machine's addresses (as zeroconf sees its interfaces)."""
    if host not in ("0.0.0.0", "", "::"):
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            return [info[4][0] for info in socket.getaddrinfo(host, None, socket.AF_INET)][:1]
    found = [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if ip.is_IPv4]
    return [a for a in found if isinstance(a, str) and not ipaddress.ip_address(a).is_loopback] or [
        "127.0.0.1"
    ]


class Advertiser:
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.zeroconf: AsyncZeroconf | None = None
        self.services: list[ServiceInfo] = []
        self._task: asyncio.Task[None] | None = None

    def start(self, host: str, web_port: int, osc_port: int | None) -> None:
        """Advertise OSCQuery, and OSC unless `osc_port` is None, in a task of its own."""
        self._task = asyncio.get_running_loop().create_task(
            self._register(host, web_port, osc_port), name="mdns"
        )

    async def _register(self, host: str, web_port: int, osc_port: int | None) -> None:
        try:
            ips = await asyncio.to_thread(addresses, host)  # a name may need a DNS lookup
            loopback = all(ipaddress.ip_address(ip).is_loopback for ip in ips)
            # a loopback-only liveai answers on the loopback interface: only this machine can reach it anyway
            self.zeroconf = AsyncZeroconf(
                interfaces=ips if loopback else InterfaceChoice.All, ip_version=IPVersion.V4Only
            )
            name = f"liveai on {socket.gethostname()}"[: 63 - len(OSCQUERY_TYPE)]
            server = f"{socket.gethostname()}.local."
            packed = [socket.inet_aton(ip) for ip in ips]
            services = [(OSCQUERY_TYPE, web_port)] + ([(OSC_TYPE, osc_port)] if osc_port is not None else [])
            for kind, port in services:
                info = ServiceInfo(
                    kind,
                    f"{name}.{kind}",
                    port=port,
                    addresses=packed,
                    server=server,
                    properties={"txtvers": "1"},
                )
                registered = await self.zeroconf.async_register_service(info, allow_name_change=True)
                await registered  # probed and announced
                self.services.append(info)
            log.info(
                "advertising %r as %s on %s",
                name,
                " and ".join(f"{kind} (port {port})" for kind, port in services),
                ", ".join(ips),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # no network, a name clash, no multicast: liveai plays on, unadvertised
            self.stats.count("mdns_failed")
            log.warning(
                "cannot advertise OSCQuery (%s: %s); tools must be given the address",
                type(exc).__name__,
                exc,
            )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.zeroconf is not None:
            try:
                await asyncio.wait_for(self.zeroconf.async_close(), timeout=2.0)  # unregisters the services
            except Exception as exc:  # a shutdown must finish
                log.warning("closing failed: %s", exc)
            self.zeroconf = None
            self.services = []

    def report(self) -> dict[str, Any]:
        return {"mdns": "on" if self.services else "off"}
