#!/usr/bin/env python3
"""The README's screenshot of the stage page: `liveai serve` with the shipped GRU in duet
mode, a short phrase played over OSC, and the page photographed by Debian's chromium
while liveai's answer is planned and sounding.

    .venv/bin/python scripts/screenshot_stage.py [--out docs/figures/stage.png]
"""

from __future__ import annotations

import argparse
import socket
import time
from contextlib import ExitStack
from pathlib import Path

from playwright.sync_api import sync_playwright

from liveai.bench.harness import OscPeer, ServerProcess, free_port

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHRASE = [(67, 0.24), (69, 0.12), (71, 0.12), (72, 0.36), (71, 0.12), (69, 0.12), (67, 0.24), (64, 0.48)]


def wait_web(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/figures/stage.png")
    args = parser.parse_args()
    with ExitStack() as stack:
        osc_port, web_port = free_port(), free_port(socket.SOCK_STREAM)
        peer = stack.enter_context(OscPeer(osc_port))
        server = ServerProcess(
            [
                f"osc.port={osc_port}",
                f'osc.targets=["127.0.0.1:{peer.port}"]',
                f"web.port={web_port}",
                "midi.api=none",
                "model.continuation=gru",
                "model.seed=3",
                "server.mode=duet",
                "duet.phrase_gap_ms=300",
                "duet.min_response_s=3",
            ]
        ).start()
        stack.callback(server.stop)
        peer.wait_pong(timeout=60)
        wait_web(web_port)
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        page = browser.new_page(viewport={"width": 1680, "height": 945}, device_scale_factor=1)
        page.goto(f"http://127.0.0.1:{web_port}/view")
        page.wait_for_function("window.stage && stage.offset !== null && stage.controlsReady", timeout=15000)
        peer.send("/liveai/temperature", 0.8)
        for _ in range(2):  # the player's phrase, twice: the first answer is cut by the second phrase
            for pitch, seconds in PHRASE:
                peer.send("/liveai/note", pitch, 92)
                time.sleep(seconds * 0.9)
                peer.send("/liveai/note", pitch, 0)
                time.sleep(seconds * 0.1)
        # photograph while the answer sounds and more of it is planned
        page.wait_for_function(
            "stage.roll.plan.filter(n => n.on > stage.clock()).length >= 3 && "
            "stage.roll.notes.some(n => n.who === 'liveai')",
            timeout=15000,
        )
        time.sleep(0.6)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
