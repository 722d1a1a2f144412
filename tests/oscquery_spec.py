"""A check of an OSCQuery tree against the Vidvox OSCQueryProposal's rules, node by node
(used on the generator's output and on what a running liveai serves)."""

from __future__ import annotations

from typing import Any

# What a JSON value may be for each OSC type tag liveai uses.
JSON_OF_TAG = {"i": int, "f": (int, float), "s": str, "T": bool, "F": bool}


def problems(node: dict[str, Any], path: str = "/") -> list[str]:
    """Every rule a node and its sub-nodes break, each naming the node (empty: valid)."""
    found: list[str] = []
    where = node.get("FULL_PATH")
    if where != path:
        found.append(f"{path}: FULL_PATH is {where!r}")
    access = node.get("ACCESS")
    if access not in (0, 1, 2, 3):
        found.append(f"{path}: ACCESS {access!r} is not 0-3")
    if not isinstance(node.get("DESCRIPTION", ""), str):
        found.append(f"{path}: DESCRIPTION is not a string")
    if "CONTENTS" in node:
        if not isinstance(node["CONTENTS"], dict) or not node["CONTENTS"]:
            found.append(f"{path}: CONTENTS is not a non-empty object")
        else:
            for name, child in node["CONTENTS"].items():
                if not name or "/" in name:
                    found.append(f"{path}: bad sub-node name {name!r}")
                found += problems(child, path.rstrip("/") + "/" + name)
    if "TYPE" not in node:
        if "CONTENTS" not in node:
            found.append(f"{path}: a method without TYPE")
        if access != 0 or any(k in node for k in ("VALUE", "RANGE", "CLIPMODE")):
            found.append(f"{path}: a container with ACCESS or values")
        return found
    found += _form(node, path)
    readable = access in (1, 3)
    if readable != ("VALUE" in node):
        found.append(f"{path}: ACCESS {access} but VALUE {'missing' if readable else 'given'}")
    if access == 0:
        found.append(f"{path}: a method with ACCESS 0")
    for overload in node.get("OVERLOADS", []):
        if "CONTENTS" in overload:
            found.append(f"{path}: an OVERLOAD with CONTENTS")
        found += _form(overload, f"{path} (overload {overload.get('TYPE')!r})")
    return found


def _form(form: dict[str, Any], path: str) -> list[str]:
    """TYPE and the per-argument arrays that must follow it."""
    found = []
    tags = form["TYPE"]
    if not isinstance(tags, str) or set(tags) - set(JSON_OF_TAG):
        return [f"{path}: TYPE {tags!r} is not a type tag string liveai accepts"]
    for key in ("VALUE", "RANGE", "CLIPMODE"):
        if key in form and (not isinstance(form[key], list) or len(form[key]) != len(tags)):
            found.append(f"{path}: {key} {form[key]!r} does not have one item per type tag {tags!r}")
    for tag, value in zip(tags, form.get("VALUE", [])):
        if not isinstance(value, JSON_OF_TAG[tag]) or (tag == "i" and isinstance(value, bool)):
            found.append(f"{path}: VALUE {value!r} is not a {tag!r}")
    for i, (tag, rng) in enumerate(zip(tags, form.get("RANGE", []))):
        if rng is None:
            continue
        if not isinstance(rng, dict) or not set(rng) <= {"MIN", "MAX", "VALS"} or not rng:
            found.append(f"{path}: RANGE {rng!r} is not an object of MIN, MAX, VALS")
            continue
        vals = rng.get("VALS", [])
        if any(not isinstance(v, JSON_OF_TAG[tag]) for v in vals):
            found.append(f"{path}: VALS {vals!r} are not all {tag!r}")
        if "MIN" in rng and "MAX" in rng and not rng["MIN"] <= rng["MAX"]:
            found.append(f"{path}: RANGE MIN above MAX")
        value = form.get("VALUE", [None] * len(tags))[i]
        if value is not None and vals and value not in vals:
            found.append(f"{path}: VALUE {value!r} is not among its VALS")
        if value is not None and "MIN" in rng and not rng["MIN"] <= value <= rng["MAX"]:
            found.append(f"{path}: VALUE {value!r} is outside its RANGE")
    for mode in form.get("CLIPMODE", []):  # one per argument: checked with VALUE and RANGE above
        if mode not in ("none", "low", "high", "both"):
            found.append(f"{path}: CLIPMODE {mode!r} is not one of the spec's strings")
    return found


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a tree, the root first."""
    return [node, *(n for child in node.get("CONTENTS", {}).values() for n in walk(child))]
