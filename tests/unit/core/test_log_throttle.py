"""LogThrottle, the one way liveai says a problem that may repeat: a line per
interval with the count since the last, the repeats at debug when asked, and a new
problem said at once."""

from __future__ import annotations

import logging

from liveai.core.stats import LogThrottle

log = logging.getLogger("liveai.test.throttle")


def lines(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == log.name and r.levelno == level]


def test_one_line_per_interval_saying_how_many_since_the_last(caplog):
    say = LogThrottle(log, "misses", level=logging.WARNING)
    with caplog.at_level(logging.DEBUG, logger=log.name):
        said = [say(i / 10, "miss %d", i) for i in range(25)]  # 2.5 s, ten a second
    assert said.count(True) == 3 and said[0] and said[10] and said[20]
    assert lines(caplog, logging.WARNING) == [
        "miss 0",
        "miss 10 (9 misses since the last report)",
        "miss 20 (9 misses since the last report)",
    ]
    assert lines(caplog, logging.DEBUG) == []  # repeats are not said unless asked


def test_repeats_go_at_their_level_and_reset_says_the_next_at_once(caplog):
    say = LogThrottle(log, "more", interval_s=60.0, level=logging.WARNING, repeats=logging.DEBUG)
    with caplog.at_level(logging.DEBUG, logger=log.name):
        say(0.0, "broker away")
        say(1.0, "broker away")
        say(2.0, "broker away")
        say.reset()  # another problem
        say(3.0, "no route")
    assert lines(caplog, logging.WARNING) == ["broker away", "no route"]
    assert lines(caplog, logging.DEBUG) == ["broker away", "broker away"]
