"""Config: defaults equal config/default.toml; every bad value is one clear line."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from liveai.config import Config, load_config
from liveai.errors import ConfigError

DEFAULT = Path(__file__).parents[3] / "config" / "default.toml"


def test_default_toml_spells_out_the_defaults():
    assert load_config(DEFAULT) == Config()
    # every setting written out (a missing one would load as its default, unseen above)
    spelled = {
        f"{section}.{key}" for section, keys in tomllib.loads(DEFAULT.read_text()).items() for key in keys
    }
    defaults = Config()
    fields = {
        f"{f.name}.{g.name}"
        for f in dataclasses.fields(Config)
        for g in dataclasses.fields(getattr(defaults, f.name))
    }
    assert fields - spelled == set() and spelled - fields == set()


def test_overrides_parse_toml_values_and_bare_words():
    c = load_config(
        DEFAULT,
        [
            "osc.port=9100",
            "server.mode=thru",
            'osc.targets=["10.0.0.2:7000"]',
            "harmonize.intervals=[2, 4, 7]",
            "clock.bpm=90",
            "midi.clock_out=true",
        ],
    )
    assert (c.osc.port, c.server.mode, c.osc.targets) == (9100, "thru", ["10.0.0.2:7000"])
    assert c.harmonize.intervals == [2, 4, 7] and c.clock.bpm == 90.0 and c.midi.clock_out is True


def test_a_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "stage.toml"
    path.write_text('[mqtt]\nurl = "mqtt://127.0.0.1:1883"\ninstance = "foyer"\n')
    c = load_config(path)
    assert c.mqtt.instance == "foyer" and c.osc.port == 9000


@pytest.mark.parametrize(
    "override, message",
    [
        ("osc.port=-1", "osc.port: -1 is out of range 0..65535"),
        ("osc.port=1.5", "osc.port: expected an integer, got 1.5"),
        ("osc.enabled=1", "osc.enabled: expected true or false, got 1"),
        ("clock.bpm=1000", "clock.bpm: 1000.0 is out of range 20.0..300.0"),
        (
            "server.mode=jazz",
            "server.mode: 'jazz' is not one of off, thru, harmonize, duet, autopilot, morph",
        ),
        ("nothing.here=1", "nothing: unknown key"),
        ("audio.ring_blocks=2", "audio.ring_blocks: no longer a setting; use audio.headroom_ms"),
        (
            "harmonize.velocity_scale=0.9",
            "harmonize.velocity_scale: no longer a setting; use harmonize.velocity",
        ),
        ("harmonize.by=model", "harmonize.by: 'model' is now \"continuation\""),
        ('osc.targets=["nowhere"]', "osc.targets[0]: 'nowhere' is not host:port"),
        ("harmonize.low=100", "harmonize.low: 100 is above harmonize.high 96"),
        ("harmonize.intervals=[2, 30]", "harmonize.intervals[1]: 30 is out of range -24..24"),
        ('midi.cc_map={"1" = "volume"}', "midi.cc_map.1: 'volume' is not one of"),
        ('midi.cc_map={"x" = "tempo"}', "midi.cc_map.x: the key must be a number 0..127"),
        ('midi.program_map={"3" = "rock"}', "midi.program_map.3: 'rock' is not one of"),
        ("osc", "--set 'osc': expected section.key=value"),
        (
            'osc.targets=["no-such-host.invalid:9001"]',
            "osc.targets[0]: cannot resolve host 'no-such-host.invalid'",
        ),
        ("mqtt.instance=foyer/#", "mqtt.instance: 'foyer/#' must be a non-empty name without #, + or /"),
        ("mqtt.instance=a+b", "mqtt.instance: 'a+b' must be a non-empty name"),
        ('mqtt.discovery_prefix="ha/#"', "mqtt.discovery_prefix: 'ha/#' must be a topic without #"),
        ('mqtt.discovery_prefix=""', "mqtt.discovery_prefix: '' must be a topic"),
        ("midi.latency_ms=1500", "midi.latency_ms: 1500.0 is out of range 0.0..1000.0"),
        ("osc.latency_ms=-5", "osc.latency_ms: -5.0 is out of range 0.0..1000.0"),
        ("midi.output_latency_ms={FLUID = 2000}", "midi.output_latency_ms.FLUID: 2000.0 is out of range"),
        ('midi.output_latency_ms={FLUID = "x"}', "midi.output_latency_ms.FLUID: expected a number"),
    ],
)
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ConfigError) as info:
        load_config(DEFAULT, [override])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "override, key, scale",
    [
        ("harmonize.key=Am", "A", "minor"),
        ('harmonize.key="f# dorian"', "F#", "dorian"),
        ("harmonize.key=bb", "Bb", "major"),
    ],
)
def test_harmonize_key_is_spelled_as_for_the_command(override, key, scale):
    c = load_config(DEFAULT, [override])
    assert (c.harmonize.key, c.harmonize.scale) == (key, scale)


def test_a_key_that_is_none_names_the_forms():
    with pytest.raises(ConfigError) as info:
        load_config(DEFAULT, ["harmonize.key=H"])
    assert str(info.value).startswith('harmonize.key: no key \'H\': give "A minor", "Am"')


def test_invalid_toml_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[osc\nport = 1\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(path)


def test_a_mode_that_cannot_start_is_a_config_error():
    from liveai.behaviours.registry import Registry

    with pytest.raises(ConfigError, match="server.mode: morph starts with empty slots"):
        Registry().check_config(load_config(DEFAULT, ["server.mode=morph"]))
    Registry().check_config(load_config(DEFAULT, ["server.mode=duet"]))


def test_the_defaults_listen_on_9000_and_answer_on_9001_on_loopback():
    c = Config()
    assert (c.osc.host, c.osc.port, c.osc.targets) == ("127.0.0.1", 9000, ["127.0.0.1:9001"])
