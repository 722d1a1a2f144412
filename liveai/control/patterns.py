"""OSC 1.0 address patterns: `?` one character, `*` any run of them (never a `/`),
`[abc]`, `[a-z]` and `[!abc]` one of a set, `{foo,bar}` one of several words. A message
to `/liveai/{play,stop}` reaches both commands.

Matching walks the address once per pattern element, keeping the set of positions the
pattern so far can end at, so it never backtracks: a regular expression of `*a*a*a...`
took minutes for one datagram (found by the fuzzer). A pattern may hold at most
MAX_WILDCARDS wildcards, MAX_CHOICES choices in each, MAX_PATTERN characters; a
datagram at most 8 patterns (liveai.transports.osc_wire).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

WILDCARDS = frozenset("*?[]{}")
MAX_WILDCARDS = 16  # a real pattern has one or two
MAX_PATTERN = 128  # characters of a pattern (the longest command address has 21)
MAX_CHOICES = 16  # words of a {...}, ranges of a [...]

# Elements: ("text", word) | ("one", "") | ("run", "") | ("set", ranges) | ("not", ranges)
# | ("words", (w, ...))
Element = tuple[str, object]


def is_pattern(address: str) -> bool:
    return not WILDCARDS.isdisjoint(address)


def _set_ranges(body: str) -> tuple[tuple[str, str], ...]:
    """`[a-z0-9_]` -> (("a", "z"), ("0", "9"), ("_", "_")): kept as ranges, never
    expanded (a range may span the whole of Unicode)."""
    ranges = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            ranges.append((body[k], body[k + 2]))
            k += 3
        else:
            ranges.append((body[k], body[k]))
            k += 1
    return tuple(ranges)


def _in(c: str, ranges: object) -> bool:
    return any(lo <= c <= hi for lo, hi in ranges)  # type: ignore[attr-defined]


@lru_cache(maxsize=256)  # bounded: addresses come from the network
def compile_pattern(pattern: str) -> tuple[Element, ...]:
    """The elements of an OSC address pattern; ValueError when it is malformed or has
    more than MAX_WILDCARDS wildcards."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"an address pattern of more than {MAX_PATTERN} characters")
    out: list[Element] = []
    text: list[str] = []
    wildcards = 0

    def element(kind: str, arg: object = "") -> None:
        nonlocal wildcards
        if text:
            out.append(("text", "".join(text)))
            text.clear()
        wildcards += 1
        if wildcards > MAX_WILDCARDS:
            raise ValueError(f"more than {MAX_WILDCARDS} wildcards in one address pattern")
        if isinstance(arg, tuple) and len(arg) > MAX_CHOICES:
            raise ValueError(f"more than {MAX_CHOICES} choices in one [...] or {{...}}")
        out.append((kind, arg))

    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if not (out and out[-1][0] == "run" and not text):  # ** is *
                element("run")
        elif c == "?":
            element("one")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ValueError(f"unclosed [ in {pattern!r}")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body:
                raise ValueError(f"empty [] in {pattern!r}")
            element("not" if negate else "set", _set_ranges(body))
            i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise ValueError(f"unclosed {{ in {pattern!r}")
            element("words", tuple(dict.fromkeys(pattern[i + 1 : end].split(","))))
            i = end
        elif c in "]}":
            raise ValueError(f"unopened {c} in {pattern!r}")
        else:
            text.append(c)
        i += 1
    if text:
        out.append(("text", "".join(text)))
    return tuple(out)


def _advance(kind: str, arg: object, alive: Iterable[int], s: str) -> set[int]:
    """Where the address can be after one more element, from the positions `alive`."""
    n = len(s)
    if kind == "text":
        word = str(arg)
        return {i + len(word) for i in alive if s.startswith(word, i)}
    if kind == "words":
        return {i + len(w) for i in alive for w in arg if s.startswith(w, i)}  # type: ignore[attr-defined]
    if kind == "run":  # any run without a /: from the first alive position of each segment on
        out: set[int] = set()
        for i in sorted(alive):
            if i in out:
                continue
            out.add(i)
            while i < n and s[i] != "/":
                i += 1
                out.add(i)
        return out
    one = {i for i in alive if i < n and s[i] != "/"}
    if kind == "set":
        one = {i for i in one if _in(s[i], arg)}
    elif kind == "not":
        one = {i for i in one if not _in(s[i], arg)}
    return {i + 1 for i in one}


def _matches(elements: tuple[Element, ...], s: str) -> bool:
    alive = {0}
    for kind, arg in elements:
        alive = _advance(kind, arg, alive, s)
        if not alive:
            return False
    return len(s) in alive


def matching(pattern: str, addresses: list[str]) -> list[str]:
    """The addresses a pattern matches, in the order given."""
    elements = compile_pattern(pattern)
    return [a for a in addresses if _matches(elements, a)]
