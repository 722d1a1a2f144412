"""The HTTP port refuses what another site open in the browser, or DNS rebinding, would
send it; over a real socket to a real `liveai serve`."""

from __future__ import annotations

import asyncio
import http.client
import socket

import aiohttp


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


def headers(port: int, path: str) -> dict[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        response = conn.getresponse()
        return {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def test_no_site_can_frame_the_page_and_no_other_origin_opens_its_socket(start_server):
    server, _ = start_server()
    port = server.web_port
    for path in ("/view", "/view/stage.js", "/"):
        sent = headers(port, path)
        assert sent["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in sent["content-security-policy"]
    upgrade = {
        "Host": f"127.0.0.1:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    assert get(port, "/view/socket", **upgrade, Origin="http://evil.example") == 403
    assert get(port, "/", **upgrade, Origin="http://evil.example") == 403
    # liveai serves http
    assert get(port, "/view/socket", **upgrade, Origin=f"https://127.0.0.1:{port}") == 403


def test_a_web_port_taken_is_said_at_once_with_exit_code_2(tmp_path):
    from liveai.bench.harness import ServerProcess, free_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ServerProcess(
            [f"osc.port={free_port()}", f"web.port={port}", "midi.api=none", 'model.continuation=""'],
            log_path=tmp_path / "serve.log",
        ).start()
        assert server.proc.wait(timeout=60) == 2
    assert f"web.port: cannot listen on 127.0.0.1:{port}" in server.log()
    assert "web.enabled = false" in server.log()


def test_at_shutdown_open_pages_and_listeners_are_told_liveai_goes_away(start_server):
    server, peer = start_server()
    url = f"http://127.0.0.1:{server.web_port}"

    async def hold_open() -> list[int | None]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url + "/view/socket") as page,
            session.ws_connect(url + "/") as listener,
        ):
            await asyncio.to_thread(peer.status)  # both are connected and served
            stopping = asyncio.create_task(asyncio.to_thread(server.stop))

            async def goodbye(ws: aiohttp.ClientWebSocketResponse) -> int | None:
                while (await ws.receive(timeout=10)).type not in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    pass
                return ws.close_code

            # each read on its own, as a browser reads its sockets
            codes = list(await asyncio.gather(goodbye(page), goodbye(listener)))
            assert await stopping == 0
            return codes

    assert asyncio.run(hold_open()) == [1001, 1001]  # going away, not a connection cut after seconds
    assert "still closing" not in server.log()
