"""OSC 1.0 address patterns: `?` one character, `*` any run of them (never a `/`),
`[abc]`, `[a-z]` and `[!abc]` one of a set, `{foo,bar}` one of several words. A message
to `/liveai/{play,stop}` reaches both commands, as python-osc's Dispatcher would.
"""

from __future__ import annotations

import re
from functools import lru_cache

WILDCARDS = frozenset("*?[]{}")


def is_pattern(address: str) -> bool:
    return not WILDCARDS.isdisjoint(address)


@lru_cache(maxsize=256)  # bounded: addresses come from the network
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression of an OSC address pattern; ValueError when it is malformed."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ValueError(f"unclosed [ in {pattern!r}")
            body = pattern[i + 1:end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body:
                raise ValueError(f"empty [] in {pattern!r}")
            chars = "".join("-" if ch == "-" and 0 < k < len(body) - 1 else re.escape(ch) for k, ch in enumerate(body))
            out.append(f"[^/{chars}]" if negate else f"[{chars}]")
            i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise ValueError(f"unclosed {{ in {pattern!r}")
            out.append("(?:" + "|".join(re.escape(word) for word in pattern[i + 1:end].split(",")) + ")")
            i = end
        elif c in "]}":
            raise ValueError(f"unopened {c} in {pattern!r}")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def matching(pattern: str, addresses: list[str]) -> list[str]:
    """The addresses a pattern matches, in the order given."""
    regex = compile_pattern(pattern)
    return [a for a in addresses if regex.fullmatch(a)]
