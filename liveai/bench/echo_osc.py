"""The floor for the OSC benchmark: a bare python-osc echo server.

`python -m liveai.bench.echo_osc LISTEN_PORT TARGET_PORT` answers every
`/liveai/note p v c` with `/liveai/out/note p v c`, using python-osc's own blocking
server and client, nothing of liveai. The time it takes is what Python and the
loopback cost; liveai's figures are read against it.
"""

from __future__ import annotations

import sys
from typing import Any

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient


def main() -> None:
    listen, target = int(sys.argv[1]), int(sys.argv[2])
    client = SimpleUDPClient("127.0.0.1", target)
    dispatcher = Dispatcher()

    def echo(address: str, *args: Any) -> None:
        client.send_message("/liveai/out/note", [int(a) for a in args])

    dispatcher.map("/liveai/note", echo)
    dispatcher.map("/liveai/ping", lambda address, *args: client.send_message("/liveai/pong", list(args)))
    BlockingOSCUDPServer(("127.0.0.1", listen), dispatcher).serve_forever()


if __name__ == "__main__":
    main()
