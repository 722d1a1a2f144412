"""`liveai bench --jack-kill`: the JACK server killed and started again under a morph loop.

A `liveai serve` with MIDI on a JACK server of the bench's own plays a morph loop of
8th notes (a file loaded into slot a, 120 BPM: a note every 250 ms) in the one shared
session, as liveai runs by default: a MIDI input lost lets go of its own keys only, and
the loop plays on. This process hears
`/liveai/out/note` over OSC, stamped as it arrives, and has no JACK client of its own
(`jack_midi_dump`, a process, hears liveai's MIDI): a dead server can stall only what
talks to it. The server is killed (SIGKILL), started again a few seconds later, and the
bench waits for liveai to open its ports again and play into them.

The figure: the largest gap between two notes over OSC, less the music's spacing, at
the kill (gaps that end while the server is down) and at the return (from its start
until the end: liveai finds it again meanwhile), and for each how far a note was off
the loop's grid (a stall makes notes late; a note not played makes a gap of twice the
spacing with every note on the grid). The target is 20 ms or less. The same for a MIDI
device plugged in and pulled out (liveai polls its ports every 0.2 s here). Also:
whether notes came over MIDI after the return, and how much of libjack's chatter
reached liveai's log (its lines, raw, and liveai's lines that quote it).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

from ..data.midi import notes_to_midi
from ..music.note import Note
from .harness import OscAnswers, OscPeer, ServerProcess, ask_status, expect, free_port, wait_pong
from .jack import PERIOD, free_slot, launch_jackd, terminate

BPM = 120.0
SPACING_S = 60.0 / BPM / 2  # 8th notes
GADGET = "jkg"  # the unpluggable device's name: liveai opens its ports by this substring
PITCHES = [60, 62, 64, 65, 67, 69, 71, 72, 74, 72, 71, 69, 67, 65, 64, 62]
NOTE_ON = re.compile(r"note on .*velocity\s+(\d+)")
TARGET_MS = 20.0  # the bound on a gap beyond the music's spacing
# What libjack prints on its stderr when its server goes (as seen when it was killed).
LIBJACK = (
    "Server is not running",
    "JackSocketClientChannel",
    "CheckRes error",
    "Cannot read socket",
    "Cannot connect to server",
    "jack server is not running",
)


class JackControl(Protocol):
    """A JACK server the caller may kill and start again (the bench's, or a test's)."""

    def start(self) -> None: ...

    def kill(self) -> None: ...

    def env(self) -> dict[str, str]: ...


class Jackd:
    """jackd -d dummy under a name of its own, for the bench."""

    def __init__(self, name: str, period: int = PERIOD) -> None:
        self.name, self.period = name, period
        self.proc: subprocess.Popen[bytes] | None = None
        self._env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}

    def start(self) -> None:
        self.proc, self._env = launch_jackd(self.name, self.period, realtime=False)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)
        free_slot(self.name, self.start, lambda: self.proc is not None and terminate(self.proc))

    def env(self) -> dict[str, str]:
        return self._env


class Onsets:
    """Note-ons over OSC, stamped as they arrive (OscAnswers' thread)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.pitches: list[int] = []
        self.lock = threading.Lock()

    def answer(self, pitch: int, velocity: int, channel: int, t: float) -> None:
        if velocity > 0:
            with self.lock:
                self.times.append(t)
                self.pitches.append(pitch)


class MidiDump:
    """jack_midi_dump in its own process connected to liveai's output: lines it prints."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "jack_midi_dump", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.lines.append(line)

    def note_ons(self) -> int:
        """Note-ons it printed ("0: 93 3c 64 note on  (channel  3): pitch  60, velocity 100")."""
        return sum(1 for line in list(self.lines) if (m := NOTE_ON.search(line)) and int(m.group(1)) > 0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(5)


class Gadget:
    """A MIDI device that can be pulled out: `liveai.bench.gadget` in a process of its own
    (its ports "jkg keys" and "jkg sound")."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "liveai.bench.gadget", GADGET],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            self.unplug()
            raise RuntimeError("the MIDI gadget did not start")

    def unplug(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def _jack_port(env: dict[str, str], text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ports = subprocess.run(["jack_lsp"], capture_output=True, text=True, env=env).stdout.splitlines()
        names = [p for p in ports if p.endswith(text)]
        if names:
            return names[0]
        time.sleep(0.05)
    raise TimeoutError(f"no JACK port named *{text}")


def _listen(stack: ExitStack, env: dict[str, str], name: str) -> MidiDump:
    dump = MidiDump(env, name)
    stack.callback(dump.stop)
    liveai_out = _jack_port(env, "liveai out")
    subprocess.run(
        ["jack_connect", liveai_out, _jack_port(env, f"{name}:input")], env=env, capture_output=True
    )
    return dump


def _wait_midi(
    send: Any, answers: OscAnswers, timeout: float, text: str = "liveai ", there: bool = True
) -> float | None:
    """Seconds until liveai's status shows (`there`) or no longer shows an open MIDI
    input and output naming `text` (None: not within `timeout`)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        status = ask_status(send, answers, timeout=2.0)
        shown = [text in str(status.get(key, "")) for key in ("midi_inputs", "midi_outputs")]
        if all(shown) if there else not any(shown):
            return time.perf_counter() - start
        time.sleep(0.02)
    return None


def _plugging(
    stack: ExitStack, env: dict[str, str], send: Any, answers: OscAnswers, cycles: int, hold_s: float
) -> dict[str, list[tuple[float, float]]]:
    """Plug the gadget in and pull it out `cycles` times: for each, (when, when liveai
    showed it done)."""
    events: dict[str, list[tuple[float, float]]] = {"plug": [], "unplug": []}
    for _ in range(cycles):
        for what in ("plug", "unplug"):
            start = time.perf_counter()
            if what == "plug":
                gadget = Gadget(env)
                stack.callback(gadget.unplug)
            else:
                gadget.unplug()
            seen = _wait_midi(send, answers, 10.0, GADGET, there=what == "plug")
            if seen is None:
                raise TimeoutError(f"liveai did not show the gadget's {what}")
            events[what].append((start, start + seen))
            time.sleep(hold_s)
    return events


def _largest_over(times: list[float], windows: list[tuple[float, float]]) -> dict[str, Any]:
    """The largest gap of any window (each from its event to half a second after liveai showed it done)."""
    each = [gaps_ms(times, start, seen + 0.5) for start, seen in windows]
    measured = [g for g in each if g["largest_gap_ms"] is not None]
    worst = max(measured, key=lambda g: g["largest_gap_ms"]) if measured else gaps_ms([], 0, 0)
    offs = [g["off_grid_ms"] for g in measured]
    return {
        "events": len(windows),
        "largest_gap_ms": worst["largest_gap_ms"],
        "over_spacing_ms": worst["over_spacing_ms"],
        "off_grid_ms": max(offs) if offs else None,
    }


def gaps_ms(onsets: list[float], start: float, end: float) -> dict[str, Any]:
    """For the onsets in (start, end]: the largest gap before one of them, how far it
    exceeds the music's spacing, and how far any is off the loop's grid (phase from the
    first onset; at most half the spacing). A stall makes a late note (off the grid) and
    a burst after it; a note not played makes a gap of twice the spacing, on the grid."""
    gaps = [b - a for a, b in zip(onsets, onsets[1:]) if start < b <= end]
    if not gaps:
        return {"notes": 0, "largest_gap_ms": None, "over_spacing_ms": None, "off_grid_ms": None}
    largest = max(gaps) * 1000.0
    half = SPACING_S / 2
    off = max(abs((t - onsets[0] + half) % SPACING_S - half) for t in onsets if start < t <= end)
    return {
        "notes": len(gaps),
        "largest_gap_ms": round(largest, 2),
        "over_spacing_ms": round(largest - SPACING_S * 1000.0, 2),
        "off_grid_ms": round(off * 1000.0, 2),
    }


def libjack_in_log(log: str) -> dict[str, int]:
    """libjack's lines in liveai's log: raw (printed by the C library) and quoted in
    liveai's own lines."""
    lines = [line for line in log.splitlines() if any(word in line for word in LIBJACK)]
    quoted = sum(1 for line in lines if line.startswith("ts="))
    return {"raw_lines": len(lines) - quoted, "liveai_lines_quoting_it": quoted}


def measure_jack_kill(
    jack: JackControl,
    workdir: Path,
    before_s: float = 3.0,
    down_s: float = 3.0,
    after_s: float = 3.0,
    plugs: int = 1,
    return_timeout_s: float = 20.0,
) -> dict[str, Any]:
    """`jack` runs; a gadget is plugged in and out `plugs` times (liveai polls every
    0.2 s), then `jack` is killed after `before_s` of the loop, started again `down_s`
    later, and the loop heard `after_s` more once liveai's MIDI is back."""
    folder = workdir / "phrases"
    folder.mkdir(parents=True, exist_ok=True)
    notes = [Note(i * SPACING_S, i * SPACING_S + 0.2, p, 100) for i, p in enumerate(PITCHES)]
    notes_to_midi(notes).write(str(folder / "eighths.mid"))
    log_path = workdir / "server.log"
    onsets = Onsets()
    with ExitStack() as stack:
        answers = OscAnswers()
        stack.callback(answers.close)
        port = free_port()
        server = ServerProcess(
            [
                f"osc.port={port}",
                f'osc.targets=["127.0.0.1:{answers.port}"]',
                "midi.api=jack",
                f"clock.bpm={BPM}",
                "clock.source=internal",
                f'morph.folder="{folder}"',
                f'midi.inputs=["{GADGET}"]',
                f'midi.outputs=["{GADGET}"]',
                "midi.poll_s=0.2",
                'server.log_level="debug"',
            ],
            env=jack.env(),
            log_path=log_path,
        ).start()
        stack.callback(server.stop)
        peer = stack.enter_context(OscPeer(port))
        wait_pong(peer.send, answers, "up", timeout=60)
        if _wait_midi(peer.send, answers, 15.0) is None:
            raise TimeoutError(f"liveai did not open its JACK MIDI ports; its log:\n{server.log()}")
        dump_before = _listen(stack, jack.env(), "jk-before")
        peer.send("/liveai/morph/load", "a", "eighths.mid", "loop")
        expect(answers, "/liveai/out/morph_ready", timeout=10)
        answers.round_trip = onsets
        peer.send("/liveai/mode", "morph", "loop")
        peer.send("/liveai/play")
        plugging = _plugging(stack, jack.env(), peer.send, answers, plugs, hold_s=1.0)
        time.sleep(before_s)
        heard_before = dump_before.note_ons()
        t_kill = time.perf_counter()
        jack.kill()
        time.sleep(down_s)
        t_return = time.perf_counter()
        jack.start()
        back_s = _wait_midi(peer.send, answers, return_timeout_s)
        heard_after = 0
        if back_s is not None:
            dump_after = _listen(stack, jack.env(), "jk-after")
            time.sleep(after_s)
            heard_after = dump_after.note_ons()
        t_end = time.perf_counter()
        peer.send("/liveai/stop")
        time.sleep(0.3)
        answers.round_trip = None
        status = ask_status(peer.send, answers, timeout=5)
    with onsets.lock:
        times = list(onsets.times)
    return {
        "spacing_ms": SPACING_S * 1000.0,
        "target_over_spacing_ms": TARGET_MS,
        "device_plugged_in": _largest_over(times, plugging["plug"]),
        "device_pulled_out": _largest_over(times, plugging["unplug"]),
        "before_kill": gaps_ms(times, t_kill - before_s, t_kill),
        "at_kill": gaps_ms(times, t_kill, t_return),
        "at_return": gaps_ms(times, t_return, t_end),
        "midi_back_after_return_s": None if back_s is None else round(back_s, 2),
        "midi_note_ons_heard": {"before_kill": heard_before, "after_return": heard_after},
        "libjack_in_log": libjack_in_log(server.log()),
        "sounding_after_stop": status.get("sounding_notes"),
        "down_s": down_s,
    }


def bench_jack_kill(seconds: float = 3.0) -> dict[str, Any]:
    """The server down for `seconds`, the loop heard that long before and after."""
    with tempfile.TemporaryDirectory(prefix="liveai-jack-kill-") as tmp:
        jack = Jackd(f"liveai-kill-{os.getpid()}")
        jack.start()
        try:
            figures = measure_jack_kill(
                jack, Path(tmp), before_s=seconds, down_s=seconds, after_s=seconds, plugs=5
            )
        finally:
            jack.stop()
    return {"jack": {"driver": "dummy", "rate": 48000, "period": PERIOD, "kill": "SIGKILL"}, **figures}
