"""A MIDI device for the benchmarks, in a process of its own so that it can be pulled
out (killed): JACK ports "<name> keys" (out, nobody plays them) and "<name> sound" (in).

    python -m liveai.bench.gadget NAME     # says "ready", runs until stdin ends
"""

from __future__ import annotations

import sys

import mido


def main() -> None:
    name = sys.argv[1]
    midi = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
    keys = midi.open_output(f"{name} keys", virtual=True, client_name=name)
    sound = midi.open_input(f"{name} sound", virtual=True, client_name=name)
    print("ready", flush=True)
    sys.stdin.read()
    keys.close()
    sound.close()


if __name__ == "__main__":
    main()
