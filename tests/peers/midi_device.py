"""A stand-in MIDI device in its own process: JACK ports "<name> keys" (out) and
"<name> sound" (in). Reads commands on stdin ("on P V", "off P", "quit") and prints
every message it receives as a line "got <type> <note> <velocity>" on stdout."""

from __future__ import annotations

import sys

import mido


def main() -> None:
    name = sys.argv[1]
    midi = mido.Backend("mido.backends.rtmidi/UNIX_JACK")

    def show(msg: mido.Message) -> None:
        if msg.type in ("note_on", "note_off"):
            print(f"got {msg.type} {msg.note} {msg.velocity}", flush=True)

    keys = midi.open_output(f"{name} keys", virtual=True, client_name=name)
    sound = midi.open_input(f"{name} sound", virtual=True, client_name=name, callback=show)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["on"]:
            keys.send(mido.Message("note_on", note=int(words[1]), velocity=int(words[2])))
        elif words[:1] == ["off"]:
            keys.send(mido.Message("note_off", note=int(words[1])))
        elif words[:1] == ["quit"]:
            break
    keys.close()
    sound.close()


if __name__ == "__main__":
    main()
