"""`liveai serve --audio [all|model]`: the synth chosen in one word at start."""

from __future__ import annotations

import pytest

from liveai import cli
from liveai.config import Config


@pytest.fixture
def served(monkeypatch):
    """The config `liveai serve ...` would serve with (the server itself is not started)."""
    got: list[Config] = []
    monkeypatch.setitem(cli.COMMANDS, "serve", lambda config, args: got.append(config) or 0)

    def run(*argv: str) -> Config:
        assert cli.main(["serve", *argv]) == 0
        return got[-1]

    return run


@pytest.mark.parametrize(
    "argv, enabled, play",
    [
        ((), False, "model"),
        (("--audio",), True, "all"),  # no synth of your own: hear your notes too
        (("--audio", "all"), True, "all"),
        (("--audio", "model"), True, "model"),
        (("--audio", "--set", "audio.play=model"), True, "model"),  # a --set wins
        (("--audio", "all", "--set", "audio.enabled=false"), False, "all"),
    ],
)
def test_audio_in_one_word(served, argv, enabled, play):
    config = served(*argv)
    assert (config.audio.enabled, config.audio.play) == (enabled, play)


def test_audio_refuses_other_words(served, capsys):
    with pytest.raises(SystemExit) as info:
        served("--audio", "loud")
    assert info.value.code == 2 and "choose from 'all', 'model'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [("--audio",), ("--flood", "10"), ("--jack-kill",)])
def test_bench_takes_its_own_flags_not_serves_audio(monkeypatch, argv):
    """bench --audio is a flag of its own: it leaves audio.play alone (it once became
    audio.play=True and refused every bench)."""
    got: list[Config] = []
    monkeypatch.setitem(cli.COMMANDS, "bench", lambda config, args: got.append(config) or 0)
    assert cli.main(["bench", *argv]) == 0
    assert (got[-1].audio.enabled, got[-1].audio.play) == (Config().audio.enabled, Config().audio.play)
