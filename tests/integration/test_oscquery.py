"""OSCQuery on a real `liveai serve`: python-oscquery's client (a third party's code)
reads it, a websocket client LISTENs and sends OSC, every node keeps the spec's rules,
and the status codes are the spec's."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import aiohttp
import requests
from oscquery_spec import problems, walk
from pythonosc.osc_packet import OscPacket
from pythonoscquery.osc_query_client import OSCQueryClient
from zeroconf import InterfaceChoice, IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from liveai.bench.harness import osc_message
from liveai.transports.mdns import OSC_TYPE, OSCQUERY_TYPE

LISTENED = "/liveai/temperature"


def base(server: Any) -> str:
    return f"http://127.0.0.1:{server.web_port}"


def service(server: Any) -> ServiceInfo:
    """What mDNS would hand python-oscquery's client for this liveai."""
    return ServiceInfo(
        "_oscjson._tcp.local.",
        "liveai test._oscjson._tcp.local.",
        port=server.web_port,
        addresses=[socket.inet_aton("127.0.0.1")],
    )


def messages(frame: bytes) -> list[tuple[str, list[Any]]]:
    """The OSC messages in a binary websocket frame."""
    packet = OscPacket(frame)
    return [(m.message.address, list(m.message.params)) for m in packet.messages]


async def next_message(ws: aiohttp.ClientWebSocketResponse, address: str, timeout: float = 5.0) -> list[Any]:
    """The arguments of the next message to `address` on the socket (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.receive()
            assert frame.type == aiohttp.WSMsgType.BINARY, f"not an OSC frame: {frame}"
            for got, args in messages(frame.data):
                if got == address:
                    return args


def test_python_oscquery_reads_host_info_and_every_readable_node(start_server):
    server, peer = start_server()
    client = OSCQueryClient(service(server))
    info = client.get_host_info()
    assert info is not None
    assert (info.osc_ip, info.osc_port, info.osc_transport) == ("127.0.0.1", peer.server[1], "UDP")
    assert info.extensions["LISTEN"] is True and info.extensions["PATH_ADDED"] is False
    tree = requests.get(base(server) + "/", timeout=5).json()
    # python-oscquery 0.4.0 models a node as a container or a method with a value: it refuses
    # write-only commands (ACCESS 2 without VALUE) and /liveai/morph (a command with
    # sub-commands), both in the spec; it reads every other node.
    readable = [n for n in walk(tree) if "VALUE" in n and "CONTENTS" not in n]
    assert len(readable) >= 8
    for served in readable:
        node = client.query_node(served["FULL_PATH"])
        assert node is not None, served["FULL_PATH"]
        assert (node.full_path, int(node.access), node.value) == (
            served["FULL_PATH"],
            served["ACCESS"],
            served["VALUE"],
        )
    peer.send("/liveai/tempo", 133)
    assert peer.expect("/liveai/out/tempo") == [133.0]
    assert client.query_node("/liveai/tempo").value == [133.0]
    assert client.query_node("/liveai/nothing") is None  # 404


def test_every_served_node_keeps_the_spec_and_the_status_codes_are_the_specs(start_server):
    server, peer = start_server()
    tree = requests.get(base(server) + "/", headers={"Accept": "application/json"}, timeout=5)
    assert tree.status_code == 200 and tree.headers["Content-Type"].startswith("application/json")
    root = tree.json()
    assert problems(root) == []
    for node in walk(root):  # each node is served at its own path, as in the tree
        assert requests.get(base(server) + node["FULL_PATH"], timeout=5).json() == node
    peer.send("/liveai/key", "F#m")
    peer.expect("/liveai/out/key")
    value = requests.get(base(server) + "/liveai/key?VALUE", timeout=5)
    assert (value.status_code, value.json()) == (200, {"VALUE": ["F#", "minor"]})
    assert requests.get(base(server) + "/liveai/note?VALUE", timeout=5).status_code == 204  # write-only
    assert requests.get(base(server) + "/liveai?TYPE", timeout=5).status_code == 204  # a container
    assert requests.get(base(server) + "/liveai/tempo?COLOUR", timeout=5).status_code == 400
    assert requests.get(base(server) + "/liveai/tempo?TYPE&RANGE", timeout=5).status_code == 400
    assert requests.get(base(server) + "/liveai/nothing", timeout=5).status_code == 404
    assert (
        requests.get(base(server) + "/liveai/nothing?HOST_INFO", timeout=5).json()["OSC_TRANSPORT"] == "UDP"
    )
    page = requests.get(
        base(server) + "/", headers={"Accept": "text/html,*/*;q=0.8"}, allow_redirects=False, timeout=5
    )
    assert (page.status_code, page.headers["Location"]) == (302, "/view")


async def frames(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[list[tuple[str, list[Any]]]]:
    """The messages of the next `count` frames."""
    return [messages((await ws.receive(timeout=5)).data) for _ in range(count)]


async def test_a_listened_value_comes_at_once_then_streams_when_changed_over_udp_until_ignored(start_server):
    server, peer = start_server()
    async with aiohttp.ClientSession() as session, session.ws_connect(base(server) + "/") as ws:
        temperature = requests.get(base(server) + LISTENED, timeout=5).json()["VALUE"]
        await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": LISTENED}))
        assert await frames(ws, 1) == [[(LISTENED, temperature)]]  # the value now, one message a frame
        await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": "/liveai/mode"}))
        assert (await frames(ws, 1))[0][0][0] == "/liveai/mode"
        peer.send(LISTENED, 1.25)
        assert await next_message(ws, LISTENED) == [1.25]
        peer.send("/liveai/mode", "thru")
        assert await next_message(ws, "/liveai/mode") == ["thru"]
        for path in ("/liveai/key", "/liveai/out/playing"):  # two arguments; read-only state
            await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
        assert await frames(ws, 2) == [[("/liveai/key", ["C", "major"])], [("/liveai/out/playing", [0])]]
        peer.send("/liveai/key", "Am")
        assert await next_message(ws, "/liveai/key") == ["A", "minor"]
        peer.send("/liveai/play")
        assert await next_message(ws, "/liveai/out/playing") == [1]
        await ws.send_str(json.dumps({"COMMAND": "IGNORE", "DATA": LISTENED}))
        await asyncio.sleep(0.2)
        peer.send(LISTENED, 0.5)
        await asyncio.to_thread(peer.expect, "/liveai/out/temperature")  # it changed
        peer.send("/liveai/mode", "harmonize")
        frame = await ws.receive(timeout=5)  # the next frame holds the mode only
        assert messages(frame.data) == [("/liveai/mode", ["harmonize"])]
        peer.send("/liveai/tempo", 100.0)  # two values within one tick: two frames, not a bundle
        peer.send("/liveai/key", "D", "dorian")
        await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": "/liveai/tempo"}))
        got = await frames(ws, 2)
        assert sorted(got) == [[("/liveai/key", ["D", "dorian"])], [("/liveai/tempo", [100.0])]]


async def test_a_flood_of_listen_and_ignore_leaves_ping_answered(start_server):
    """LISTEN and IGNORE cost a look-up: 2,000 of them on one socket do not starve the music."""
    server, peer = start_server()
    async with aiohttp.ClientSession() as session, session.ws_connect(base(server) + "/") as ws:
        for n in range(1000):
            for command in ("LISTEN", "IGNORE"):
                await ws.send_str(
                    json.dumps({"COMMAND": command, "DATA": "/liveai/key" if n % 2 else LISTENED})
                )
        peer.send("/liveai/ping", "udp")
        assert await asyncio.to_thread(peer.expect, "/liveai/pong", 10.0) == ["udp"]
        await ws.send_bytes(osc_message("/liveai/ping", "ws"))
        assert await next_message(ws, "/liveai/pong", timeout=10) == ["ws"]
    assert (await asyncio.to_thread(status_of, peer))["internal_errors"] == 0


async def test_binary_frames_are_osc_commands_and_bad_frames_are_answered_not_fatal(start_server):
    server, peer = start_server()
    async with aiohttp.ClientSession() as session, session.ws_connect(base(server) + "/") as ws:
        await ws.send_bytes(osc_message("/liveai/temperature", 0.25))
        assert await asyncio.to_thread(peer.expect, "/liveai/out/temperature") == [0.25]
        await ws.send_bytes(osc_message("/liveai/mode", "thru"))
        assert await asyncio.to_thread(peer.expect, "/liveai/out/mode") == ["thru"]
        await ws.send_bytes(osc_message("/liveai/note", 60, 100))  # played, heard by the UDP peer
        assert await asyncio.to_thread(peer.expect, "/liveai/out/note") == [60, 100, 1]
        bad = [
            (b"garbage", "malformed"),
            (osc_message("/liveai/nothing"), "unknown_address"),
            (osc_message("/liveai/tempo", "fast"), "bad_args"),
        ]
        for frame, code in bad:
            await ws.send_bytes(frame)
            assert (await next_message(ws, "/liveai/error"))[0] == code
        # too deep for the JSON parser
        for text, code in [
            ("{", "malformed"),
            ('{"COMMAND": "IGNORE", "DATA": [1]}', "malformed"),
            ('{"COMMAND": "SING", "DATA": "/"}', "unknown_command"),
            ('{"COMMAND": "LISTEN", "DATA": "/nope"}', "unknown_address"),
            ("[" * 5000, "malformed"),
        ]:
            await ws.send_str(text)
            assert (await next_message(ws, "/liveai/error"))[0] == code
        # no value: accepted, nothing streams
        await ws.send_str('{"COMMAND": "LISTEN", "DATA": "/liveai/note"}')
        await ws.send_bytes(osc_message("/liveai/ping", "still here"))
        assert await frames(ws, 1) == [[("/liveai/pong", ["still here"])]]
        assert not ws.closed
    peer.send("/liveai/status")
    status = peer.expect("/liveai/status")
    counters = dict(zip(status[::2], status[1::2]))
    assert (
        counters["malformed"] == 4
        and counters["internal_errors"] == 0
        and counters["unknown_command"] == 1
        and counters["bad_args"] == 1
    )
    assert counters.get("bad_value", 0) == 0  # a LISTEN to a node without a value is no error


class Found:
    """Services a zeroconf browser sees, by type: {port: ServiceInfo}."""

    def __init__(self) -> None:
        self.names: list[tuple[str, str]] = []

    def add_service(self, zc: Any, kind: str, name: str) -> None:
        self.names.append((kind, name))

    def update_service(self, zc: Any, kind: str, name: str) -> None:
        pass

    def remove_service(self, zc: Any, kind: str, name: str) -> None:
        pass


async def browse(interfaces: Any, wanted_port: int, seconds: float) -> dict[str, AsyncServiceInfo]:
    """The OSCQuery and OSC services this machine's mDNS answers within `seconds`, by type,
    keeping only those of a liveai whose web port is `wanted_port` (and its OSC service)."""
    zc = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    found = Found()
    browser = AsyncServiceBrowser(zc.zeroconf, [OSCQUERY_TYPE, OSC_TYPE], found)
    out: dict[str, AsyncServiceInfo] = {}
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline and OSCQUERY_TYPE not in out:
            await asyncio.sleep(0.2)
            for kind, name in found.names:
                info = AsyncServiceInfo(kind, name)
                if (
                    await info.async_request(zc.zeroconf, 2000)
                    and info.type == OSCQUERY_TYPE
                    and info.port == wanted_port
                ):
                    out[kind] = info
                    osc = AsyncServiceInfo(OSC_TYPE, name.replace(OSCQUERY_TYPE, OSC_TYPE))
                    if await osc.async_request(zc.zeroconf, 2000):
                        out[OSC_TYPE] = osc
    finally:
        await browser.async_cancel()
        await zc.async_close()
    return out


def status_of(peer: Any) -> dict[str, Any]:
    peer.send("/liveai/status")
    args = peer.expect("/liveai/status")
    return dict(zip(args[::2], args[1::2]))


async def test_zeroconf_on_advertises_both_services_and_python_oscquery_finds_liveai(start_server):
    server, peer = start_server('web.zeroconf="on"', 'osc.host="0.0.0.0"')
    found = await browse(["127.0.0.1"], server.web_port, 15)
    assert set(found) == {OSCQUERY_TYPE, OSC_TYPE}, server.log()
    assert found[OSC_TYPE].port == peer.server[1]
    client = OSCQueryClient(found[OSCQUERY_TYPE])  # the third party's client, on what mDNS found
    info = await asyncio.to_thread(client.get_host_info)
    assert info is not None and info.osc_port == peer.server[1]
    peer.send(LISTENED, 1.25)
    await asyncio.to_thread(peer.expect, "/liveai/out/temperature")
    assert (await asyncio.to_thread(client.query_node, LISTENED)).value == [1.25]


async def test_osc_on_loopback_is_not_advertised(start_server):
    """OSC on 127.0.0.1 (the default) cannot be reached from elsewhere: only OSCQuery is advertised."""
    server, peer = start_server('web.zeroconf="on"')
    found = await browse(["127.0.0.1"], server.web_port, 15)
    assert set(found) == {OSCQUERY_TYPE}, server.log()


async def test_on_loopback_auto_advertises_nothing(start_server):
    server, peer = start_server()  # web.zeroconf = "auto", web.host = 127.0.0.1
    assert await browse(InterfaceChoice.All, server.web_port, 3) == {}
    assert (await asyncio.to_thread(status_of, peer))["mdns"] == "off"


async def test_beyond_loopback_a_tool_reads_and_listens_without_the_token_but_commands_need_it(start_server):
    server, peer = start_server('web.host="0.0.0.0"', 'web.token="sesame"')  # web.zeroconf = "auto": on
    url, same_site = base(server), {"Origin": base(server)}
    assert requests.get(url + "/liveai/tempo", timeout=5).status_code == 200  # a tool: no Origin
    assert requests.get(url + "/liveai/tempo", headers=same_site, timeout=5).status_code == 403  # a page
    assert requests.get(url + "/liveai/tempo?token=sesame", headers=same_site, timeout=5).status_code == 200
    assert requests.get(url + "/", headers={"Host": "attacker.example"}, timeout=5).status_code == 403
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url + "/") as ws:  # a tool without the token
            await ws.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": LISTENED}))
            await ws.send_bytes(osc_message(LISTENED, 1.5))
            assert await next_message(ws, "/liveai/error") == [
                "forbidden",
                "commands on this websocket need the token (web.token)",
            ]
            peer.send(LISTENED, 1.75)  # over UDP (on loopback here): it streams
            assert await next_message(ws, LISTENED) == [1.75]
            assert await asyncio.to_thread(peer.expect, "/liveai/out/temperature") == [1.75]  # 1.5 never set
        async with session.ws_connect(url + "/", headers={"X-Liveai-Token": "sesame"}) as ws:
            await ws.send_bytes(osc_message(LISTENED, 0.5))
            assert await asyncio.to_thread(peer.expect, "/liveai/out/temperature") == [0.5]
        try:
            async with session.ws_connect(url + "/", headers=same_site):  # a page without the token
                raise AssertionError("a browser's websocket without the token was accepted")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 403
    found = await browse(InterfaceChoice.All, server.web_port, 15)
    assert OSCQUERY_TYPE in found, server.log()
    assert all(not ip.startswith("127.") for ip in found[OSCQUERY_TYPE].parsed_addresses())
