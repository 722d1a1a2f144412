"""Who may use liveai's HTTP port. A page from another site open in the same browser can
reach localhost, and DNS rebinding can make its own name point here: so every request
and websocket upgrade must name an allowed host in `Host`, and a browser's `Origin`
must be that same host. Beyond loopback a token is needed too.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..config import WebConfig

TOKEN_HEADER = "X-Liveai-Token"
TOKEN_QUERY = "token"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None]:
    """`Host` or an origin's netloc as (name, port): "[::1]:9080" -> ("::1", 9080)."""
    parts = urlsplit("//" + value)
    try:
        port = parts.port
    except ValueError:
        return "", None
    return (parts.hostname or ""), port


class Guard:
    def __init__(self, config: WebConfig) -> None:
        self.loopback = is_loopback(config.host)
        # An IP literal cannot be rebound; names must be ours.
        names = {"localhost", *config.allowed_hosts}
        if not self.loopback:
            hostname = socket.gethostname()
            names |= {hostname, f"{hostname}.local"}
            if not _is_ip(config.host) and config.host:
                names.add(config.host)
        self.names = {n.lower() for n in names}
        self.token = config.token or ("" if self.loopback else secrets.token_urlsafe(16))

    def host_allowed(self, host: str) -> bool:
        name, _ = split_host(host)
        return bool(name) and (_is_ip(name) or name.lower() in self.names)

    def refusal(
        self, headers: Mapping[str, str], query: Mapping[str, str], needs_token: bool = True
    ) -> str | None:
        """Why a request is refused, or None when it may go on."""
        host = headers.get("Host", "")
        if not self.host_allowed(host):
            return f"Host {host[:80]!r} is not this liveai (DNS rebinding?)"
        origin = headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme != "http" or parts.netloc.lower() != host.lower():  # liveai serves http only
                return f"Origin {origin[:80]!r} is another site"
        if needs_token and self.token:
            given = query.get(TOKEN_QUERY) or headers.get(TOKEN_HEADER) or ""
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return "a token is needed beyond loopback (web.token, printed at start)"
        return None
