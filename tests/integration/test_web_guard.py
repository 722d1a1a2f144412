"""The HTTP port refuses what another site open in the browser, or DNS rebinding, would
send it; over a real socket to a real `liveai serve`."""

from __future__ import annotations

import http.client


def get(port: int, path: str = "/", **headers: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def refused(peer) -> int:
    peer.send("/liveai/status")
    values = peer.expect("/liveai/status")
    return dict(zip(values[::2], values[1::2]))["web_refused"]


def test_another_origin_and_a_rebound_host_are_refused_and_counted(start_server):
    server, peer = start_server()
    port = server.web_port
    assert get(port, "/", Host=f"127.0.0.1:{port}") != 403
    assert get(port, "/", Host=f"localhost:{port}", Origin=f"http://localhost:{port}") != 403
    assert get(port, "/", Host="attacker.example") == 403  # DNS rebinding: the page's own name
    assert get(port, "/", Host=f"127.0.0.1:{port}", Origin="http://evil.example") == 403
    assert get(port, "/", Host=f"127.0.0.1:{port}", Origin="null") == 403
    assert refused(peer) == 3
    peer.send("/liveai/ping", "still")
    assert peer.expect("/liveai/pong") == ["still"]
