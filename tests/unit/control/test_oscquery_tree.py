"""The OSCQuery tree generated from the command table: complete, valid by the spec's
rules, its types what the handlers accept, its values the engine's state."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import make_engine
from oscquery_spec import problems, walk

from liveai.behaviours.registry import Registry
from liveai.control import oscquery
from liveai.control.handlers import definitions
from liveai.control.params import coerce
from liveai.control.table import CommandTable
from liveai.core.commands import OSC
from liveai.errors import CommandError


@pytest.fixture
def table() -> CommandTable:
    engine, _, _ = make_engine()
    return CommandTable(engine, definitions(Registry().commands()))


def tree_of(table: CommandTable) -> dict[str, Any]:
    return oscquery.tree(table.carried_by(OSC), table.engine.state)


def sample(tags: str, ranges: list[Any] | None) -> list[Any]:
    """Arguments a client would send, read off TYPE and RANGE alone."""
    out: list[Any] = []
    for i, tag in enumerate(tags):
        rng = (ranges or [None] * len(tags))[i] or {}
        if "VALS" in rng:
            out.append(rng["VALS"][-1])
        elif tag in "if":
            out.append(rng.get("MAX", 1) if tag == "i" else float(rng.get("MAX", 1.0)))
        else:
            out.append("x")
    return out


def test_every_osc_command_is_a_node_and_the_tree_keeps_the_spec(table):
    root = tree_of(table)
    assert problems(root) == []
    paths = {node["FULL_PATH"] for node in walk(root)}
    assert {c.address for c in table.carried_by(OSC)} <= paths
    assert {"/", "/liveai", "/liveai/out", "/liveai/out/playing", "/liveai/out/panicked"} <= paths


def test_every_form_a_node_lists_is_accepted_by_its_handler(table):
    """What a client builds from TYPE and RANGE (and each OVERLOAD) passes the command's
    own argument check: the tags are the handler's, not a guess."""
    for command in table.carried_by(OSC):
        node = oscquery.find(tree_of(table), command.address)
        assert node is not None
        for form in [node, *node.get("OVERLOADS", [])]:
            args = sample(form["TYPE"], form.get("RANGE"))
            try:
                coerce(command.address, command.params, args)
            except CommandError as exc:
                pytest.fail(f"{command.address} {form['TYPE']!r} {args}: {exc}")


def test_a_free_form_argument_is_left_to_the_overloads(table):
    note = oscquery.find(tree_of(table), "/liveai/note")
    assert note["TYPE"] == "iii"  # pitch velocity channel; a session id no knob can fill
    assert [o["TYPE"] for o in note["OVERLOADS"]] == ["ii", "iiis"]
    assert oscquery.find(tree_of(table), "/liveai/play")["TYPE"] == ""  # a button


def test_state_nodes_carry_the_engine_state_and_follow_it(table):
    engine = table.engine
    engine.set_value("temperature", 1.5)
    engine.set_key("A", "dorian")
    engine.set_register(40, 80)
    engine.set_mode("thru")
    root = tree_of(table)

    def node(path: str) -> dict[str, Any]:
        found = oscquery.find(root, path)
        assert found is not None
        return found

    assert node("/liveai/temperature")["VALUE"] == [1.5]
    assert node("/liveai/key")["VALUE"] == ["A", "dorian"]
    assert node("/liveai/register")["VALUE"] == [40, 80]
    assert node("/liveai/mode")["VALUE"] == ["thru"]
    assert node("/liveai/out/playing")["VALUE"] == [0]
    assert node("/liveai/mode")["RANGE"] == [
        {"VALS": ["off", "thru", "harmonize", "duet", "autopilot", "morph"]}
    ]
    assert node("/liveai/temperature")["RANGE"] == [{"MIN": 0.05, "MAX": 2.0}]
    assert node("/liveai/morph/capture")["RANGE"] == [{"VALS": ["a", "b"]}]
    assert {n["FULL_PATH"]: n["ACCESS"] for n in walk(root) if n["ACCESS"] != 2} == {
        "/": 0,
        "/liveai": 0,
        "/liveai/out": 0,
        "/liveai/out/playing": 1,
        "/liveai/out/panicked": 1,
        **{address: 3 for address in oscquery.STATE_AT},
    }


def test_a_node_can_be_a_command_and_a_container(table):
    morph = oscquery.find(tree_of(table), "/liveai/morph/")
    assert morph is not None and morph["TYPE"] == "f" and morph["ACCESS"] == 3
    assert set(morph["CONTENTS"]) == {"capture", "load"}
    assert oscquery.find(tree_of(table), "/liveai/nothing") is None


def test_attribute_queries_say_200_204_or_400(table):
    root = tree_of(table)
    temperature = oscquery.find(root, "/liveai/temperature")
    assert oscquery.attribute(temperature, "VALUE") == (200, {"VALUE": [table.engine.state["temperature"]]})
    assert oscquery.attribute(oscquery.find(root, "/liveai/note"), "VALUE") == (204, {})
    assert oscquery.attribute(root, "TYPE") == (204, {})
    assert oscquery.attribute(temperature, "COLOUR")[0] == 400
    assert oscquery.attribute(temperature, "UNIT")[0] == 400  # the spec's, but not served


def test_descriptions_are_a_first_sentence_and_keep_abbreviations(table):
    cc = oscquery.find(tree_of(table), "/liveai/cc")
    assert cc["DESCRIPTION"] == (
        "A control change, mapped through `midi.cc_map` (e.g. CC 1 sets the "
        "temperature); CC 64 is the sustain pedal (CC 121 lifts it)."
    )
    assert oscquery.description("One. Two.") == "One."


def test_listening_maps_state_names_to_addresses():
    assert oscquery.showing("scale") == ["/liveai/key"]
    assert oscquery.showing("tempo") == ["/liveai/tempo"]
    assert oscquery.showing("playing") == ["/liveai/out/playing"]
    assert oscquery.listenable("/liveai/note") == ()
    for address, names in oscquery.STATE_AT.items():
        assert len(names) == oscquery.main_arity(
            next(
                c
                for c in CommandTable(make_engine()[0], definitions(Registry().commands())).commands.values()
                if c.address == address
            ).params
        )


def test_host_info_says_the_table_never_changes():
    info = oscquery.host_info("liveai", "127.0.0.1", 9000, "127.0.0.1", 9080)
    assert info["OSC_TRANSPORT"] == "UDP" and info["OSC_PORT"] == 9000 and info["WS_PORT"] == 9080
    assert info["EXTENSIONS"]["LISTEN"] is True
    assert not any(
        info["EXTENSIONS"][k] for k in ("PATH_ADDED", "PATH_REMOVED", "PATH_RENAMED", "PATH_CHANGED")
    )


def test_the_listenable_addresses_and_their_types(table):
    assert oscquery.state_types(tree_of(table)) == {
        "/liveai/mode": "s",
        "/liveai/temperature": "f",
        "/liveai/tempo": "f",
        "/liveai/density": "f",
        "/liveai/morph": "f",
        "/liveai/key": "ss",
        "/liveai/register": "ii",
        "/liveai/out/playing": "i",
        "/liveai/out/panicked": "i",
    }


def test_the_tree_built_once_shows_what_a_fresh_build_would(table, monkeypatch):
    """GET and LISTEN read a tree built at start (a build per request starved the music);
    its values are filled in per request."""
    space = oscquery.AddressSpace(table.carried_by(OSC), table.engine.state)
    build = oscquery.tree
    monkeypatch.setattr(oscquery, "tree", lambda *a: pytest.fail("the tree was built again"))

    def fresh() -> dict[str, Any]:
        return build(table.carried_by(OSC), table.engine.state)

    engine = table.engine
    engine.set_value("temperature", 1.5)
    engine.set_key("A", "dorian")
    engine.set_register(40, 80)
    engine.set_mode("thru")
    assert space.node("/") == fresh()
    assert space.node("/liveai/key/") == oscquery.find(fresh(), "/liveai/key")
    assert space.node("/liveai/nothing") is None
    engine.set_value("temperature", 0.5)
    assert space.node("/liveai/temperature")["VALUE"] == [0.5]
    assert space.types == oscquery.state_types(fresh())


def test_clipmode_is_a_string_per_argument_wherever_there_is_a_range(table):
    root = tree_of(table)
    assert oscquery.find(root, "/liveai/mode")["CLIPMODE"] == ["none"]  # VALS: refused outside
    assert oscquery.find(root, "/liveai/key")["CLIPMODE"] == ["none", "none"]
    assert oscquery.find(root, "/liveai/temperature")["CLIPMODE"] == ["both"]
    for node in walk(root):
        for form in [node, *node.get("OVERLOADS", [])]:
            if "RANGE" in form:
                assert len(form["CLIPMODE"]) == len(form["TYPE"])
                assert set(form["CLIPMODE"]) <= {"none", "low", "high", "both"}, node["FULL_PATH"]
