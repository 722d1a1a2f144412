"""docs/bad-input.md (moved out of the README) names what counts each kind of bad input:
every name there is a counter or status key liveai reports, and every refusal counter
liveai has is there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from liveai.control.reference import STATUS
from liveai.core.stats import COUNTERS

ROOT = Path(__file__).parents[3]
TABLE = ROOT / "docs" / "bad-input.md"
# counted, but not bad input
TRAFFIC = {
    "events_in",
    "events_out",
    "datagrams_in",
    "messages_in",
    "send_errors",
    "mqtt_discovery_sent",
    "mqtt_discovery_removed",
}


def audio_status_keys() -> set[str]:
    """The keys SynthLink.status returns, read from its source (the link needs a device to run)."""
    tree = ast.parse((ROOT / "liveai" / "audio" / "link.py").read_text())
    (status,) = [
        f
        for c in tree.body
        if isinstance(c, ast.ClassDef) and c.name == "SynthLink"
        for f in c.body
        if isinstance(f, ast.FunctionDef) and f.name == "status"
    ]
    return {
        k.value
        for node in ast.walk(status)
        if isinstance(node, ast.Dict)
        for k in node.keys
        if isinstance(k, ast.Constant)
    }


def counted_in() -> list[str]:
    """The names in the table's last column, without the values after `=` (`mqtt` = `reconnecting`)."""
    names = []
    for row in TABLE.read_text().splitlines():
        if row.startswith("| ") and not row.startswith(("| what comes in", "|---")):
            cells = row.strip()[1:-1].split("|")
            assert len(cells) == 3, row
            names += re.findall(r"(?<!= )`([\w<>]+)`", cells[2])
    return names


def test_every_name_the_table_counts_in_is_reported():
    reported = set(COUNTERS) | set(re.findall(r"`([\w<>]+)`", STATUS)) | audio_status_keys()
    names = counted_in()
    assert len(names) > 20  # the table was read
    assert [n for n in names if n not in reported] == []


def test_every_refusal_counter_is_in_the_table():
    text = TABLE.read_text()
    assert [c for c in COUNTERS if c not in TRAFFIC and f"`{c}`" not in text] == []
