"""Every counter liveai counts is in `/liveai/status` from the start, at 0: a patch or
a dashboard that reads `midi_ignored` must not find it missing until the first one."""

from __future__ import annotations

import re
from pathlib import Path

from fakes import make_engine

import liveai

# stats.count("name") in liveai, and the MIDI process's own counts (its _count("name"))
COUNTED = re.compile(r"""(?:stats\.count|self\._count)\(\s*["']([a-z_]+)["']""")


def counted_in_source() -> set[str]:
    names: set[str] = set()
    for path in Path(liveai.__file__).parent.rglob("*.py"):
        names |= set(COUNTED.findall(path.read_text()))
    return names


def test_every_counter_liveai_counts_is_in_status_from_the_start():
    engine, _, _ = make_engine()
    status = engine.status()
    names = counted_in_source()
    # the scan finds them
    assert {"midi_ignored", "midi_in_dropped", "mqtt_outbox_dropped", "errors"} <= names
    assert {name: status.get(name) for name in names} == {name: 0 for name in names}
