"""The stage page in a real browser (Debian's chromium, driven by Playwright) against a
real `liveai serve`: what it shows, what its controls send, what moves them.

One browser serves the whole module; each test opens its own page on its own server.
Times are measured in the page and printed, never asserted against a wall clock.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REQUIRE_PEERS, need, wait_until
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message import OscMessage

from liveai.bench.harness import osc_message
from liveai.data.midi import notes_to_midi
from liveai.music.note import Note

try:
    from playwright import sync_api as playwright_api
except ImportError:  # a peer like chromium itself: missing locally skips, in CI fails
    if REQUIRE_PEERS:
        raise
    pytest.skip("playwright is not installed (scripts/setup installs it)", allow_module_level=True)

CHROMIUM = "/usr/bin/chromium"
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
WAIT_MS = 15_000  # a wait that holds returns at once; a busy machine (3 workers on 2 cores) is slow


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    need(CHROMIUM)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Stage:
    """One page open on a server's /view, with its console's errors."""

    def __init__(self, browser, port: int, query: str = "", size: tuple[int, int] = (1400, 900)) -> None:
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"http://127.0.0.1:{port}/view{query}")
        self.page.wait_for_function(
            "window.stage && stage.offset !== null && stage.controlsReady", timeout=WAIT_MS * 2
        )

    def js(self, expression: str, arg: object = None) -> object:
        return self.page.evaluate(expression, arg)

    def wait(self, expression: str, arg: object = None, timeout: int = WAIT_MS) -> object:
        return self.page.wait_for_function(expression, arg=arg, timeout=timeout).json_value()

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def open_stage(browser) -> Iterator[object]:
    pages: list[Stage] = []

    def open_(port: int, query: str = "", size: tuple[int, int] = (1400, 900)) -> Stage:
        stage = Stage(browser, port, query, size)
        pages.append(stage)
        return stage

    yield open_
    for stage in pages:
        stage.close()


def notes_of(messages, on: bool) -> list[tuple]:
    return [
        tuple(args) for address, args in messages if address == "/liveai/out/note" and (args[1] > 0) == on
    ]


def test_a_note_over_osc_shows_on_the_roll_and_in_the_live_region(start_server, open_stage, tmp_path: Path):
    server, peer = start_server("server.mode=thru")
    stage = open_stage(server.web_port)
    sent_ms = time.time() * 1000
    peer.send("/liveai/note", 61, 100)  # held: it stays on the roll below the now line
    seen = stage.wait("stage.seen['player 61'] && stage.seen['player 61'].drawn && stage.seen['player 61']")
    stage.wait("document.getElementById('live').textContent.includes('you C#4 (61)')")
    print(
        f"\nOSC note -> received by the page {seen['received'] - sent_ms:.1f} ms, "
        f"drawn {seen['drawn'] - sent_ms:.1f} ms (the issue asks for 100 ms)"
    )
    time.sleep(0.2)  # the held note has grown a few pixels below the now line
    pixel = stage.js("stage.roll.probe(61, 'player', 6)")
    assert pixel["rgba"][:3] != pixel["background"], "the roll is blank where the note is drawn"
    stage.page.screenshot(path=str(tmp_path / "stage.png"))
    dom = stage.page.inner_text("body")
    assert "mode: thru" in dom and "health: latency p99" in dom  # mode and health as text too
    peer.send("/liveai/note", 61, 0)
    assert stage.errors == []


def test_duet_from_the_page_plans_before_it_sounds_and_yields(start_server, open_stage):
    server, peer = start_server("duet.phrase_gap_ms=300", "duet.min_response_s=3", model="gru")
    stage = open_stage(server.web_port)
    stage.page.click("[data-path='/liveai/mode'] button[data-value=duet]")
    assert peer.expect("/liveai/out/mode") == ["duet"]  # the OSC peer sees the page's command
    stage.wait("stage.state.mode === 'duet'")
    for pitch in (60, 62, 64, 65, 67, 69):
        peer.send("/liveai/note", pitch, 90)
        time.sleep(0.1)
        peer.send("/liveai/note", pitch, 0)
        time.sleep(0.02)
    ahead = stage.wait("stage.planLog.find(e => e.v > 0 && e.t > e.now + 0.05)", timeout=WAIT_MS * 2)
    print(f"\na planned note reached the page {ahead['t'] - ahead['now']:.3f} s before its time")
    heard = notes_of(peer.collect(1.0), on=True)
    assert ahead["p"] in [p for p, _, _ in heard], "the planned note then sounds"
    stage.wait("stage.roll.plan.length > 0")  # more of the answer is planned
    peer.send("/liveai/note", 48, 100)  # the player barges in: the rest of the answer is taken back
    taken = stage.wait("stage.withdrawLog.find(w => w.v > 0 && w.t > w.now)")
    assert taken["removed"], "a note taken back before it sounded leaves the roll at once"
    peer.send("/liveai/note", 48, 0)
    assert stage.errors == []


def test_temperature_from_the_page_and_from_mqtt(mosquitto, start_server, open_stage):
    need("mosquitto_pub")
    server, peer = start_server(f'mqtt.url="{mosquitto.url}"', "mqtt.instance=stagepage")
    wait_until(lambda: peer.status()["mqtt"] == "connected", 10, "liveai to subscribe")
    stage = open_stage(server.web_port)
    slider = stage.page.locator("[data-path='/liveai/temperature'] input[type=range]")
    slider.fill("0.7")
    assert peer.expect("/liveai/out/temperature") == [pytest.approx(0.7, abs=0.01)]
    subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-p",
            str(mosquitto.port),
            "-t",
            "liveai/stagepage/cmd/temperature",
            "-m",
            "1.5",
            "-q",
            "1",
        ],
        check=True,
    )
    assert peer.expect("/liveai/out/temperature") == [1.5]
    stage.wait(
        "Math.abs(Number(document.querySelector(\"[data-path='/liveai/temperature'] input\").value) - 1.5) "
        "< 1e-6"
    )
    assert stage.errors == []


def test_panic_from_the_page_silences(start_server, open_stage):
    server, peer = start_server()  # harmonize: a held note sounds its voices
    stage = open_stage(server.web_port)
    peer.send("/liveai/note", 60, 100)
    voices = [p for p, _, _ in notes_of(peer.collect(0.3), on=True)]
    assert voices
    stage.page.click("button[data-path='/liveai/panic']")
    heard = peer.collect(0.5)
    assert set(voices) <= {p for p, _, _ in notes_of(heard, on=False)}, "every voice gets its note-off"
    assert ("/liveai/out/panicked", [1]) in [(a, list(v)) for a, v in heard]
    stage.wait("!document.getElementById('panicked').hidden")
    assert peer.status()["sounding_notes"] == 0
    peer.send("/liveai/note", 60, 0)
    assert stage.errors == []


def test_the_computer_keys_play_liveai(start_server, open_stage):
    server, peer = start_server("server.mode=thru")
    stage = open_stage(server.web_port)
    stage.page.keyboard.press("x")  # an octave up: C5
    stage.page.keyboard.down("d")  # E
    assert peer.expect("/liveai/out/note") == [76, 96, 1]
    stage.page.keyboard.up("d")
    assert peer.expect("/liveai/out/note") == [76, 0, 1]
    stage.wait("document.getElementById('live').textContent.includes('you E5 (76)')")
    assert stage.errors == []


def test_a_key_lets_go_of_the_pitch_it_sounded(start_server, open_stage):
    """Hold A, go up an octave, hold Ctrl, let A go: the C4 it sounded stops (it rang for good)."""
    server, peer = start_server("server.mode=thru")
    stage = open_stage(server.web_port)
    stage.page.keyboard.down("a")
    assert peer.expect("/liveai/out/note") == [60, 96, 1]
    stage.page.keyboard.press("x")
    stage.page.keyboard.down("Control")
    stage.page.keyboard.up("a")
    assert peer.expect("/liveai/out/note") == [60, 0, 1]
    stage.page.keyboard.up("Control")
    stage.page.keyboard.down("s")  # held while the tab is hidden: let go
    assert peer.expect("/liveai/out/note") == [74, 96, 1]
    stage.js(
        "Object.defineProperty(document, 'hidden', {value: true}); "
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    assert peer.expect("/liveai/out/note") == [74, 0, 1]
    assert peer.status()["sounding_notes"] == 0 and stage.errors == []


def test_a_reconnect_neither_draws_nor_announces_the_recent_notes_twice(start_server, open_stage):
    server, peer = start_server("server.mode=thru")
    stage = open_stage(server.web_port)
    for pitch in (60, 64):
        peer.send("/liveai/note", pitch, 100)
        stage.wait(f"document.getElementById('live').textContent.includes('({pitch})')")
        peer.send("/liveai/note", pitch, 0)
    stage.wait("stage.roll.open.size === 0")
    before = stage.js("[stage.roll.notes.length, document.getElementById('live').children.length]")
    stage.js(
        "() => { const was = stage.socket; was.addEventListener('close', () => { window.cut = true; }); "
        "was.close(); }"
    )
    stage.wait("window.cut === true && stage.socket.readyState === 1 && stage.offset !== null")
    time.sleep(0.3)  # the hello has been read (it comes first, with the recent notes)
    assert stage.js("[stage.roll.notes.length, document.getElementById('live').children.length]") == before
    peer.send("/liveai/note", 67, 100)  # and what comes after is said
    stage.wait("document.getElementById('live').textContent.includes('(67)')")
    assert stage.errors == []


def test_beyond_loopback_the_page_carries_its_token(start_server, open_stage):
    server, peer = start_server('web.host="0.0.0.0"', 'web.token="stage-secret"')
    stage = open_stage(server.web_port, "?token=stage-secret")  # controls (GET /) and the websocket need it
    stage.page.click("[data-path='/liveai/mode'] button[data-value=thru]")
    assert peer.expect("/liveai/out/mode") == ["thru"]
    assert stage.errors == []
    assert peer.status()["web_refused"] == 0


def test_dump_dom_reads_the_notes_mode_and_health_as_text(start_server):
    need(CHROMIUM)
    server, peer = start_server()
    # Chromium's virtual time does not wait for a websocket, so a dump may end before the
    # page's first frames arrive: a page opened again (the note played again, within the
    # 10 s it keeps) is a new try, up to three.
    for _ in range(3):
        peer.send("/liveai/note", 64, 100)  # before the page opens: it gets the last 10 s of notes
        peer.send("/liveai/note", 64, 0)
        peer.expect("/liveai/out/note")
        done = subprocess.run(
            [
                CHROMIUM,
                *CHROMIUM_ARGS,
                "--virtual-time-budget=8000",
                "--dump-dom",
                f"http://127.0.0.1:{server.web_port}/view",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        live = re.search(r'<p id="live"[^>]*>(.*?)</p>', done.stdout)
        if live and "you E4 (64)" in live.group(1):
            break
    assert live and "you E4 (64)" in live.group(1), done.stdout[-3000:]
    assert 'aria-atomic="false"' in live.group(0)  # a new note is read alone, not the last eight again
    assert "mode: harmonize" in done.stdout
    # a hidden badge is not in the page's text
    assert "panicked" not in re.sub(r"<script.*?</script>", "", done.stdout, flags=re.S).replace(
        'id="panicked"', ""
    )
    assert re.search(r"health: latency p99 [\d.]+ ms, 0 deadline misses", done.stdout)


def pressed(stage: Stage) -> object:
    return stage.js(
        "[...document.querySelectorAll(\"[data-path='/liveai/mode'] button[aria-pressed=true]\")]"
        ".map(b => b.dataset.value)"
    )


def test_the_pressed_mode_follows_each_click(start_server, open_stage):
    server, peer = start_server(model="gru")
    stage = open_stage(server.web_port)
    assert pressed(stage) == ["harmonize"]
    for mode in ("duet", "autopilot"):
        stage.page.click(f"[data-path='/liveai/mode'] button[data-value={mode}]")
        assert peer.expect("/liveai/out/mode") == [mode]
        stage.wait(f"document.getElementById('mode-text').textContent === 'mode: {mode}'")
        stage.wait(
            "(m) => document.querySelector(\"[data-path='/liveai/mode'] button[aria-pressed=true]\")"
            "?.dataset.value === m",
            mode,
        )
        assert pressed(stage) == [mode]  # one button pressed: the mode liveai says
    assert stage.errors == []


def test_morph_load_takes_a_file_name_and_a_refusal_shows_by_the_controls(start_server, open_stage, tmp_path):
    notes_to_midi([Note(i * 0.5, i * 0.5 + 0.4, p, 100) for i, p in enumerate([60, 62, 64, 65])]).write(
        str(tmp_path / "riff.mid")
    )
    server, peer = start_server(f'morph.folder="{tmp_path}"', model="gru")
    stage = open_stage(server.web_port)
    load = "[data-path='/liveai/morph/load']"
    stage.page.click(f"{load} button[data-value=a]")  # no file name yet: the page asks for one, sends nothing
    stage.wait("document.getElementById('toast').textContent.includes('type a file name')")
    stage.page.fill(f"{load} input[type=text]", "nosuch.mid")
    stage.page.click(f"{load} button[data-value=a]")
    stage.wait("stage.errors.length === 1")
    toast = stage.page.locator("#toast")
    assert toast.is_visible() and "refused" in toast.inner_text()
    assert stage.errors == []
    box = toast.bounding_box()
    assert box["y"] + box["height"] <= 900, "the refusal shows where the player looks"
    assert "refused" in stage.page.inner_text("#live")  # and a screen reader hears it
    for slot in ("a", "b"):
        stage.page.fill(f"{load} input[type=text]", "riff.mid")
        stage.page.click(f"{load} button[data-value={slot}]")
        assert peer.expect("/liveai/out/morph_ready") == [{"a": "a", "b": "ab"}[slot]]
    stage.page.click("[data-path='/liveai/mode'] button[data-value=morph]")
    assert peer.expect("/liveai/out/mode") == ["morph"], "both slots loaded from the page: morph plays"
    assert len(stage.js("stage.errors")) == 1


def test_the_register_is_named_shown_as_notes_and_never_crosses(start_server, open_stage):
    server, peer = start_server()
    stage = open_stage(server.web_port)
    register = "[data-path='/liveai/register']"
    assert stage.page.inner_text(register).split() == [
        "register",
        "low",
        "C2",
        "(36)",
        "register",
        "high",
        "C7",
        "(96)",
    ]
    stage.page.get_by_role("slider", name="register low").fill("100")  # past high: it stops a semitone below
    stage.wait("stage.state.low === 95 && stage.state.high === 96")
    assert "B6 (95)" in stage.page.inner_text(register)
    stage.page.get_by_role("slider", name="register high").fill("20")  # below low: it stops a semitone above
    assert stage.page.get_by_role("slider", name="register high").input_value() == "96"
    peer.send("/liveai/ping")
    peer.expect("/liveai/pong")  # the page's command, if any, came before: nothing was refused
    assert stage.js("stage.errors") == [], "the page never sent low >= high"
    sliders = "[...document.querySelectorAll(\"[data-path='/liveai/register'] input\")].map(s => s.value)"
    stage.js("""() => {  // a refused register (as from a stale page): the sliders show liveai's again
        for (const s of document.querySelectorAll("[data-path='/liveai/register'] input")) s.value = 60;
        stage.send('/liveai/register', [60, 60]); }""")
    stage.wait("stage.errors.length === 1")
    assert stage.js(sliders) == ["95", "96"]
    assert "register" in stage.js("stage.errors[0].message")
    assert stage.errors == []


def test_the_controls_read_as_a_musician_reads_them(start_server, open_stage):
    server, peer = start_server()
    stage = open_stage(server.web_port)
    assert stage.page.get_by_label("key", exact=True).input_value() == "C"
    scale = stage.page.get_by_label("scale", exact=True)
    assert "harmonic minor" in scale.inner_text()
    scale.select_option(label="harmonic minor")
    assert peer.expect("/liveai/out/scale") == ["harmonic_minor"]  # the tree's value goes out
    assert stage.page.get_by_label("continue (beats)").input_value() == "4"  # not the range's 0.25
    assert "last two bars you played" in stage.page.inner_text("[data-path='/liveai/morph/capture']")
    assert "a shade each" in stage.page.inner_text(".legend")
    assert "refused since start" in stage.page.inner_text("#figures")
    assert stage.errors == []


def test_the_health_sums_the_messages_dropped_wherever_they_were(start_server, open_stage):
    """Each place counts its own drops (`osc_timetagged_dropped`...); the health shows
    their sum: a panic drops a timetagged note still waiting."""
    server, peer = start_server()
    stage = open_stage(server.web_port)
    ahead = OscBundleBuilder(time.time() + 5.0)
    ahead.add_content(OscMessage(osc_message("/liveai/note", 62, 100)))
    peer.send_raw(ahead.build().dgram)
    peer.send("/liveai/panic")
    assert peer.expect("/liveai/out/panicked") == [1]
    assert peer.status()["osc_timetagged_dropped"] == 1
    stage.wait("document.querySelector('#figures').innerText.includes('messages dropped')")
    stage.wait("/messages dropped\\s*1\\b/.test(document.querySelector('#figures').innerText)")
    assert "1 messages dropped" in stage.js("document.querySelector('#health-text').textContent")
    assert stage.errors == []


def visible(stage: Stage, selector: str) -> bool:
    return stage.js(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; }""",
        selector,
    )


@pytest.mark.parametrize("size", [(1400, 900), (1680, 945)])
def test_what_a_player_needs_is_on_screen_without_scrolling(start_server, open_stage, size):
    server, peer = start_server()
    stage = open_stage(server.web_port, size=size)
    for selector in (
        "#roll",
        "#midi",
        ".keys",
        "#health",
        "#refusals",
        "#controls",
        "[data-path='/liveai/mode']",
        "button[data-path='/liveai/panic']",
    ):
        assert visible(stage, selector), f"{selector} is below the fold at {size}"
    assert stage.js("document.documentElement.scrollHeight <= innerHeight")
    assert stage.js(
        "(() => { const a = document.querySelector('aside'); return a.scrollHeight <= a.clientHeight; })()"
    )


def test_a_phone_stacks_the_panels_and_the_keyboard_keeps_its_range(start_server, open_stage):
    server, peer = start_server("server.mode=thru")
    stage = open_stage(server.web_port, size=(390, 844))
    assert stage.js("document.documentElement.scrollWidth") <= 390, "nothing overflows sideways"
    assert stage.js("document.getElementById('roll').getBoundingClientRect().width") >= 360
    stage.page.set_viewport_size({"width": 800, "height": 900})
    stage.wait("document.getElementById('roll').getBoundingClientRect().width >= 740")
    assert stage.js("document.getElementById('roll').getBoundingClientRect().height") >= 400
    stage.page.set_viewport_size({"width": 1400, "height": 900})
    # C2-C7 before a note
    stage.wait("stage.roll.layout() && stage.roll.low === 36 && stage.roll.high === 96")
    peer.send("/liveai/note", 60, 90)
    stage.wait("stage.roll.notes.some(n => n.p === 60) && stage.roll.layout()")
    assert [stage.js("stage.roll.low"), stage.js("stage.roll.high")] == [36, 96], (
        "a note inside: no key moves"
    )
    peer.send("/liveai/note", 30, 90)
    # widens by an octave
    stage.wait("stage.roll.notes.some(n => n.p === 30) && stage.roll.layout() && stage.roll.low === 24")
    assert stage.js("stage.roll.high") == 96
    assert stage.errors == []


def test_while_liveai_is_unreachable_the_page_says_so(start_server, open_stage):
    server, peer = start_server()
    stage = open_stage(server.web_port)
    assert stage.js("document.getElementById('control-set').disabled") is False
    server.stop()
    stage.wait("!document.getElementById('offline').hidden")
    assert "not reachable" in stage.page.inner_text("#offline")
    assert stage.js("document.getElementById('control-set').disabled") is True
    assert stage.page.locator("[data-path='/liveai/mode'] button[data-value=duet]").is_disabled()


def test_a_learn_started_over_osc_shows_its_reports_by_the_buttons_and_in_the_live_text(
    start_server, open_stage, tmp_path: Path
):
    from test_learn_live import LEARN_COMMAND, PHRASE, TINY, play

    home = tmp_path / "xdg"
    (home / "liveai" / "models").mkdir(parents=True)
    env = {"XDG_DATA_HOME": str(home), "LIVEAI_LEARN_COMMAND": LEARN_COMMAND}
    server, peer = start_server(*TINY, "learn.record=true", model="gru", env=env)
    for player in ("p1", "p2", "p3"):
        play(peer, PHRASE, session=player, gap=0.02)
    stage = open_stage(server.web_port)
    peer.send("/liveai/learn")
    stage.wait("stage.learnLog.some(r => r[0] === 'learning' && r.includes('step'))", timeout=120_000)
    learned = stage.wait(
        "stage.learn && ['playing', 'no improvement', 'error'].includes(stage.learn[0]) && stage.learn",
        timeout=120_000,
    )
    assert learned[0] == "playing" and learned[1].startswith("learned-"), stage.js("stage.learnLog")
    line = stage.page.locator("#learning")
    assert line.is_visible() and line.inner_text() == f"learn: playing — {learned[1]}"
    text = stage.page.inner_text("#live")
    assert "learn: done" in text and f"learn: playing — {learned[1]}" in text  # the last few lines
    # a page opened later shows the latest report at once
    later = open_stage(server.web_port)
    later.wait("document.getElementById('learning').textContent.includes('playing')")
    assert stage.errors == [] and later.errors == []
