"""The Link transport against the library's own session state, in this process (the
two-peer test over the network is tests/integration/test_link.py), and the startup
error without the library."""

from __future__ import annotations

import logging
import time

import pytest

from liveai.cli import main
from liveai.config.schema import ClockConfig
from liveai.core.clock import PPQN, Clock
from liveai.transports import link

# aalink is the optional extra liveai[link]; scripts/setup installs it, and a test that
# needs it fails without it rather than skip.


async def joined(source="link", bpm=120.0):
    clock = Clock(bpm, source)
    config = ClockConfig(source=source, quantum=4)
    transport = link.LinkTransport(
        config,
        bpm,
        time.monotonic,
        lambda t: setattr(clock, "timeline", t),
        lambda: None,
        print,
        lambda: False,
    )
    await transport.__aenter__()
    return transport, clock


async def test_the_timeline_reads_the_sessions_own_beat_in_liveais_time():
    transport, clock = await joined(bpm=133.0)
    try:
        session = transport._link
        assert clock.timeline is transport and transport.tempo() == pytest.approx(133.0)
        ms = 133.0 / 60 * 1e-3  # a millisecond in beats
        for _ in range(20):
            now = time.monotonic()
            beat = session.beat  # the library's own answer, read in between
            after = time.monotonic()
            mine = transport.beat_at(now)
            # read apart by what a busy machine allows: the same beat to a millisecond (a
            # pulse is 19 ms at this tempo), and a time read back where it was asked
            assert mine - ms <= beat <= mine + (after - now) * 133.0 / 60 + ms
            assert transport.time_at(transport.beat_at(now + 0.5)) == pytest.approx(now + 0.5, abs=1e-3)
        transport.propose_tempo(97.0)
        assert session.tempo == pytest.approx(97.0) and clock.bpm(time.monotonic()) == pytest.approx(97.0)
        # pulses of a run anchored on the session's bar lines fall on its beats
        clock.anchor(time.monotonic(), None)
        assert clock.link_origin % 4 == 0
        assert transport.beat_at(clock.pulse_time(3 * PPQN)) == pytest.approx(
            clock.link_origin + 3, abs=97.0 / 60 * 1e-3
        )
    finally:
        await transport.__aexit__(None, None, None)
    assert not session.enabled


async def test_alone_auto_keeps_its_own_tempo_and_link_follows_the_session():
    transport, clock = await joined("auto")
    try:
        alone = transport.peers() == 0  # another Link app on this network would be a peer
        assert clock.linked() is not alone
        clock.source = "link"
        assert clock.linked() and clock.name(time.monotonic()) == "link"
    finally:
        await transport.__aexit__(None, None, None)


def test_link_without_the_library_is_refused_at_startup(monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "aalink", None)  # as if not installed

    async def served(*args):
        raise AssertionError("liveai served without Link")

    monkeypatch.setattr("liveai.server.serve", served)
    sets = ["clock.source=link", 'model.continuation=""', "osc.port=0", "web.enabled=false"]
    code = main(["serve", *[arg for item in sets for arg in ("--set", item)]])
    assert code == 2
    assert 'pip install "liveai[link]"' in capsys.readouterr().err


def test_auto_without_the_library_goes_on_with_one_line(monkeypatch, caplog):
    monkeypatch.setitem(__import__("sys").modules, "aalink", None)
    with caplog.at_level(logging.INFO, logger="liveai.transports.link"):
        assert link.wanted(ClockConfig(source="auto", link=True)) is False
    assert [r.message for r in caplog.records] == [
        "Ableton Link is off: aalink is not installed "
        '(the extra liveai[link]: scripts/setup in a checkout, else pip install "liveai[link]")'
    ]
    assert link.wanted(ClockConfig(source="auto")) is False  # off by default: Link is on the network
    assert link.wanted(ClockConfig(source="midi", link=True)) is False


async def test_a_peers_start_and_stop_play_and_stop_liveai_when_shared():
    delivered = []
    playing = [False]
    config = ClockConfig(source="link", link_start_stop=True)
    transport = link.LinkTransport(
        config, 120.0, time.monotonic, lambda t: None, lambda: None, delivered.append, lambda: playing[0]
    )
    await transport.__aenter__()
    try:
        assert transport._link.start_stop_sync_enabled
        transport._on_start_stop(True)
        playing[0] = True
        transport._on_start_stop(True)  # liveai's own start coming back: nothing more
        transport._on_start_stop(False)
        transport.config = ClockConfig(source="link", link_start_stop=False)
        transport._on_start_stop(True)  # not shared: ignored
    finally:
        await transport.__aexit__(None, None, None)
    assert [type(e).__name__ for e in delivered] == ["TransportStart", "TransportStop"]


def test_a_session_tempo_out_of_range_is_said_once_as_it_leaves_the_range(caplog):
    changed = []
    transport = link.LinkTransport(
        ClockConfig(source="link"), 120.0, time.monotonic, print, lambda: changed.append(1), print, bool
    )
    with caplog.at_level(logging.WARNING, logger="liveai.transports.link"):
        for bpm in (600.0, 650.0, 120.0, 10.0):
            transport._on_tempo(bpm)
    assert [r.message.split(":")[0] for r in caplog.records] == [
        "the Link session's tempo (600.0 BPM) is outside 20..300",
        "the Link session's tempo (10.0 BPM) is outside 20..300",
    ]
    assert len(changed) == 4  # each change re-plans (Clock.linked() says whether it is followed)
