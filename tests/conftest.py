"""Shared fixtures: real peers (jackd, mosquitto, pd, liblo) and liveai server processes.

A test that needs a peer program calls `need("prog")`: locally a missing program skips
the test; with LIVEAI_REQUIRE_PEERS=1 (CI) it fails, so nothing is hidden.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from liveai.bench.harness import OscPeer, ServerProcess, free_port

REQUIRE_PEERS = os.environ.get("LIVEAI_REQUIRE_PEERS") == "1"

if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    # Several workers on 2 cores: torch's own thread pool in each would spin against the
    # others' (a 14 s model test took over 300 s on 3 workers). The servers set their own.
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# These machines are shared and noisy: a slow example is not a failing one. Properties
# still run every example; only hypothesis's wall-clock health check is relaxed.
# "liveai" (the default, in CI and locally) is derandomized: every run draws the same
# examples, so a pass cannot be luck and a failure repeats. HYPOTHESIS_PROFILE=explore
# draws new ones each run (and keeps failures in .hypothesis/) to look for new bugs.
settings.register_profile(
    "liveai", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, print_blob=True
)
settings.register_profile(
    "explore",
    settings.get_profile("liveai"),
    derandomize=False,
    database=DirectoryBasedExampleDatabase(".hypothesis/examples"),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "liveai"))


# scripts/test runs the suite on several pytest-xdist workers (--dist loadgroup): most
# tests wait on servers, not the CPU. Tests that measure time, play realtime audio, drive
# JACK or count what a model plays in a window of wall time are marked `timing`; scripts/test
# runs them one at a time at normal priority, the rest only in the CPU's idle time beside
# them; those marked `alone` run after both, with nothing beside them; tests that
# advertise or look for services over mDNS share a worker, so none sees another's server
# on the network.
GROUPS = {
    # With anything else running, even in the idle class, a shutdown's burst of MIDI (the
    # note-offs, then sustain, all sound and all notes off on 16 channels) reached the
    # test's port mangled in about 1 of 10 runs: note-offs lost, CCs repeated. These run
    # last, with nothing beside them, until that is understood. (First match wins.)
    "alone": ("integration/test_midi_jack.py::test_sigterm_sends_note_offs_over_midi",),
    "timing": (
        "integration/test_audio_jack.py",
        "integration/test_bench_audio.py",
        "integration/test_bench_stage.py",
        "integration/test_jack_kill.py",
        "integration/test_latency_compensation.py",
        "integration/test_duet_touch_live.py",
        "integration/test_fuzz.py::test_a_flood_does_not_silence_the_server",
        "integration/test_play_live.py::test_autopilot_steered_over_mqtt",
        "integration/test_stage_page.py::test_dump_dom",
        "integration/test_stage_socket.py::test_a_page_that_stops_reading",
        "integration/test_fault_injection.py",
        "integration/test_link.py",
        # joins the machine's Link session: beside test_link.py, the two would share a tempo
        "unit/transports/test_link_session.py",
        # JACK's clients (the tests' own and jack_lsp) must be scheduled on time: in the
        # idle class, beside the timing tests, jack_lsp failed and rtmidi's close crashed.
        # Their MIDI clock tests also pace or count by the wall clock.
        "integration/test_midi_jack.py",
        "integration/test_devices.py::test_devices_lists_jack_ports_and_audio",
        "integration/test_morph_live.py::test_a_jack_midi_clock_drives_the_loops_tempo",
        "integration/test_play_live.py::test_duet_over_jack_midi_and_mode_changes_leave_nothing_hanging",
        # waits a set wall time for the model thread's answers: in the idle lane, starved
        # while the timing lane played, one came after the switch it checks
        "unit/live/test_swap_notes.py",
    ),
    "mdns": ("integration/test_oscquery.py",),
}


def group_of(nodeid: str) -> str | None:
    for group, prefixes in GROUPS.items():
        if nodeid.removeprefix("tests/").startswith(prefixes):
            return group
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        group = group_of(item.nodeid)
        if group == "timing":
            item.add_marker(pytest.mark.timing)
        elif group == "alone":
            item.add_marker(pytest.mark.alone)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """--dist loadgroup by GROUPS, from the node ids alone: xdist 3.8 marks a group in
    the node id, which pytest 9.2 no longer lets it change (pytest-xdist#1386)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class Grouped(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or super()._split_scope(nodeid)

    return Grouped(config, log)


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        message = f"{program} is not installed (scripts/setup installs it)"
        if REQUIRE_PEERS:
            pytest.fail(message + "; LIVEAI_REQUIRE_PEERS=1 makes this a failure")
        pytest.skip(message)
    return path


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


class LineReader:
    """Lines of a child's output, read on a thread, so a test waits with a deadline
    instead of blocking for ever in readline()."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.strip())

    def get(self, timeout: float, what: str = "a line") -> str:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}") from None


class JackServer:
    """jackd with the dummy driver under a name of its own (JACK_DEFAULT_SERVER)."""

    def __init__(self, name: str, period: int = 128, realtime: bool = False) -> None:
        self.name = name
        self.period = period
        self.realtime = realtime  # SCHED_FIFO for JACK and its clients' process threads (root may)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = ""  # the end of what jackd last said, for an error

    def start(self) -> None:
        """Realtime if asked, else (or if that jackd does not start) not. Refused
        realtime scheduling, jackd 1.9 runs on without it, saying so in `log`."""
        if self.realtime and not self._launch(realtime=True):
            self.realtime = False
        if not self.realtime and not self._launch(realtime=False):
            raise TimeoutError(f"jackd did not start: {self.log}")

    def _launch(self, realtime: bool) -> bool:
        scheduling = ["--realtime", "-P", "70"] if realtime else ["--no-realtime"]
        self.proc = subprocess.Popen(
            ["jackd", "-n", self.name, *scheduling, "-d", "dummy", "-r", "48000", "-p", str(self.period)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        reader = threading.Thread(target=self._keep_log, args=(self.proc,), daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        while self.proc.poll() is None and time.monotonic() < deadline:
            if self._lsp():  # up, with its system ports
                return True
            time.sleep(0.05)
        self.stop()
        reader.join(2)
        return False

    def _keep_log(self, proc: subprocess.Popen[bytes]) -> None:
        """Read jackd's output to its end (so jackd never blocks on it), keeping the end."""
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                self.log = (self.log + line.decode(errors="replace"))[-2000:]

    def ports(self) -> list[str]:
        """Every port of the server. A jack_lsp that could not ask it (a busy machine) is
        asked again, not taken for a server without ports."""
        for _ in range(5):
            if (ports := self._lsp()) is not None:
                return ports
            time.sleep(0.2)
        raise RuntimeError(f"jack_lsp could not ask the JACK server {self.name} 5 times")

    def _lsp(self) -> list[str] | None:
        done = subprocess.run(["jack_lsp"], capture_output=True, text=True, env=self.env())
        return done.stdout.split("\n")[:-1] if done.returncode == 0 else None

    def linked(self, text: str) -> bool:
        """Whether a port whose name contains `text` has a connection (jack_lsp -c)."""
        done = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True, env=self.env())
        current = ""
        for line in done.stdout.splitlines():
            if not line.startswith((" ", "\t")):
                current = line
            elif text in current:
                return True
        return False

    def connect(self, source: str, destination: str) -> None:
        """Connect, and return once the connection is in the graph JACK runs. jack_connect
        returns when the server has recorded it; JACK switches its running graph at a later
        cycle (later still while a client is late), and MIDI a client writes before the
        switch goes nowhere. `jack_lsp -c` reads the running graph."""
        subprocess.run(["jack_connect", source, destination], check=True, env=self.env(), capture_output=True)
        wait_until(lambda: destination in self.connections(source), 5, f"{source} -> {destination} to run")

    def connections(self, port: str) -> list[str]:
        done = subprocess.run(["jack_lsp", "-c", port], capture_output=True, text=True, env=self.env())
        return [line.strip() for line in done.stdout.splitlines()[1:]]

    def env(self) -> dict[str, str]:
        return {**os.environ, "JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def kill(self) -> None:
        """SIGKILL: the server vanishes as a crashed one does, telling no client."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def jack() -> Iterator[JackServer]:
    need("jackd")
    need("jack_lsp")
    # Realtime, as users run JACK: a client thread that a busy machine leaves unscheduled
    # for a period (2.7 ms here) misses that cycle, and JACK loses or repeats its MIDI
    # events. Non-realtime, that lost a shutdown's note-offs in CI.
    server = JackServer(f"liveai-test-{os.getpid()}", realtime=True)
    server.start()
    previous = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = server.name  # for rtmidi clients in this process
    yield server
    server.stop()
    if previous is None:
        os.environ.pop("JACK_DEFAULT_SERVER", None)
    else:
        os.environ["JACK_DEFAULT_SERVER"] = previous


class Mosquitto:
    """A mosquitto broker on a free loopback port; `restart` keeps the port. `users`
    asks for passwords (no anonymous clients); `tls` = (ca, cert, key) files for TLS."""

    def __init__(
        self, workdir: Path, users: dict[str, str] | None = None, tls: tuple[Path, Path, Path] | None = None
    ) -> None:
        self.port = free_port(kind=1)  # SOCK_STREAM
        self.conf = workdir / f"mosquitto-{self.port}.conf"
        # as root, mosquitto drops to its own user, which cannot read a test's private files
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
        ]
        if users:
            passwords = workdir / f"passwords-{self.port}"
            passwords.write_text("")
            for user, password in users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwords), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            ca, cert, key = tls
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        self.conf.write_text("\n".join(lines) + "\n")
        self.tls = tls is not None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.conf.with_suffix(".log"), "ab") as log:  # the broker keeps its own copy
            self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=log, stderr=log)
        try:
            wait_until(self._listening, 10, "mosquitto to listen")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; its log: {self.conf.with_suffix('.log').read_text()}") from None

    def _listening(self) -> bool:
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    need("mosquitto")
    need("mosquitto_sub")
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()


def _listens(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., tuple[ServerProcess, OscPeer]]]:
    """Start `liveai serve` on free ports; returns (server, peer) with the peer as its target.

    MIDI is off unless the test asks (`midi=True`), so OSC-only tests need no JACK; no
    model is loaded unless the test names one (`model="gru"`), so harmonize is by rule.
    `command` runs liveai another way (a launcher in tests/peers).
    """
    started: list[tuple[ServerProcess, OscPeer]] = []

    def start(
        *overrides: str,
        midi: bool = False,
        model: str = "",
        env: dict[str, str] | None = None,
        config: str | None = None,
        port: int | None = None,
        targets: tuple[str, ...] = (),
        command: tuple[str, ...] = (),
    ) -> tuple[ServerProcess, OscPeer]:
        port = port or free_port()
        peer = OscPeer(port)
        all_targets = ", ".join(f'"{t}"' for t in (*targets, f"127.0.0.1:{peer.port}"))
        web_port = free_port(socket.SOCK_STREAM)
        sets = [
            f"osc.port={port}",
            f"osc.targets=[{all_targets}]",
            f'model.continuation="{model}"',
            f"web.port={web_port}",
        ]
        if not midi:
            sets.append("midi.api=none")
        log_path = tmp_path / f"server{len(started)}.log"
        server = ServerProcess(
            sets + list(overrides),
            config=config,
            env=env,
            log_path=log_path,
            **({"command": command} if command else {}),
        ).start()
        server.web_port = web_port  # the stage page and OSCQuery: http://127.0.0.1:<web_port>/
        started.append((server, peer))
        try:
            # up in 2-5 s alone; the workers of scripts/test start theirs at once on 2 cores
            peer.wait_pong(timeout=60 if model else 30)
            if "web.enabled=false" not in [o.replace(" ", "").lower() for o in overrides]:
                # the web port opens beside OSC, a moment after the pong at worst
                wait_until(lambda: _listens(web_port), 10, "the web port to listen")
        except TimeoutError as exc:
            server.stop()
            raise AssertionError(f"server did not start ({exc}); its log:\n" + server.log()) from None
        return server, peer

    yield start
    with contextlib.ExitStack() as cleanup:  # every peer is closed, even if a stop fails
        for server, peer in started:
            cleanup.callback(peer.close)
            if server.proc is not None and server.proc.poll() is None:
                cleanup.callback(server.stop)
