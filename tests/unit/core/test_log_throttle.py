"""LogThrottle, the one way liveai says a problem that may repeat: a line per
interval with the count since the last, the repeats at debug when asked, and a new
problem said at once, an amount summed."""

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


def test_a_problem_other_than_the_last_is_said_at_once_and_a_repeat_is_held_back(caplog):
    say = LogThrottle(log, "more", interval_s=60.0, level=logging.WARNING, repeats=logging.DEBUG)
    with caplog.at_level(logging.DEBUG, logger=log.name):
        for now, problem in enumerate(
            ["no JACK", "no JACK", "port taken", "port taken", "no JACK", "no JACK"]
        ):
            say(float(now), "cannot open: %s", problem, problem=problem)
        say(65.0, "cannot open: %s", "no JACK", problem="no JACK")  # a minute on: said, with the count
    assert lines(caplog, logging.WARNING) == [
        "cannot open: no JACK",
        "cannot open: port taken",
        "cannot open: no JACK",
        "cannot open: no JACK (1 more since the last report)",
    ]
    assert lines(caplog, logging.DEBUG) == [
        "cannot open: no JACK",
        "cannot open: port taken",
        "cannot open: no JACK",
    ]


def test_an_amount_held_back_is_summed(caplog):
    say = LogThrottle(log, "more dropped", level=logging.WARNING)
    with caplog.at_level(logging.DEBUG, logger=log.name):
        for now, dropped in ((0.0, 40), (0.5, 5), (0.9, 1), (2.0, 4)):
            say(now, "%d dropped", dropped, amount=dropped)
    assert lines(caplog, logging.WARNING) == [
        "40 dropped",
        "4 dropped (6 more dropped since the last report)",
    ]
