"""The floor for the MIDI benchmark: a bare mido/rtmidi JACK client that echoes notes.

`python -m liveai.bench.echo_midi NAME` opens JACK ports "NAME in" and "NAME out" and
sends back every note message it receives, from rtmidi's callback, nothing of liveai.
"""

from __future__ import annotations

import signal
import sys

import mido


def main() -> None:
    name = sys.argv[1]
    midi = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
    out = midi.open_output(f"{name} out", virtual=True, client_name=name)

    def echo(msg: mido.Message) -> None:
        if msg.type in ("note_on", "note_off"):
            out.send(msg)

    port_in = midi.open_input(f"{name} in", virtual=True, client_name=name, callback=echo)
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    port_in.close()
    out.close()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
