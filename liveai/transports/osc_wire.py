"""A structural check of OSC datagrams before python-osc parses them.

python-osc trusts bundle element sizes: a negative size makes its parser loop forever
(one datagram would freeze the server); an unknown type tag (`I`, `c`) is skipped with
a WARNING on the root logger per tag (60,000 lines for one hostile datagram). This
walk refuses such datagrams first, and bounds the work one datagram can ask for (its
messages, their arguments, the nesting of bundles); python-osc then decodes the
well-formed ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from pythonosc.osc_packet import ParseError

BUNDLE_PREFIX = b"#bundle\x00"
MAX_NESTING = 8
# The tags python-osc 1.10 decodes (osc_message.py); any other is refused here.
TYPE_TAGS = frozenset("ihfdsbrmtTFN[]")


@dataclass(frozen=True)
class WireLimits:
    max_messages: int = 128
    max_arguments: int = 32
    max_string: int = 1024  # bytes of an address or a string argument
    max_patterns: int = 8  # messages whose address is a pattern (each is matched against every command)


_WILDCARD_BYTES = frozenset(b"*?[]{}")

# Bytes each fixed-size argument takes (T F N [ ] take none).
_FIXED = {"i": 4, "f": 4, "r": 4, "m": 4, "h": 8, "d": 8, "t": 8, "T": 0, "F": 0, "N": 0, "[": 0, "]": 0}


class TooMuch(ParseError):
    """A well-formed datagram that asks for more than the limits allow."""


def check_datagram(data: bytes, limits: WireLimits = WireLimits()) -> int:
    """The number of messages in `data`; ParseError unless it is a well-formed OSC
    message or bundle within the limits (TooMuch when only the limits are broken)."""
    return _check(data, limits, 0, [0, 0])


def _check(data: bytes, limits: WireLimits, depth: int, count: list[int]) -> int:
    if data.startswith(BUNDLE_PREFIX):
        _check_bundle(data, limits, depth, count)
    elif data.startswith(b"/"):
        _check_type_tags(data, limits)
        count[0] += 1
        if count[0] > limits.max_messages:
            raise TooMuch(
                f"more than {limits.max_messages} messages in one datagram (osc.max_messages_per_datagram)"
            )
        if any(c in _WILDCARD_BYTES for c in data[: data.find(b"\x00")]):
            count[1] += 1
            if count[1] > limits.max_patterns:
                raise TooMuch(f"more than {limits.max_patterns} address patterns in one datagram")
    else:
        raise ParseError("neither an OSC message ('/...') nor a bundle ('#bundle')")
    return count[0]


def _check_bundle(data: bytes, limits: WireLimits, depth: int, count: list[int]) -> None:
    if depth >= MAX_NESTING:
        raise ParseError(f"bundles nested deeper than {MAX_NESTING}")
    if len(data) < 16:
        raise ParseError("bundle shorter than its header")
    index = 16  # "#bundle\0" and the 8-byte timetag
    while index < len(data):
        if index + 4 > len(data):
            raise ParseError("bundle element size cut short")
        size = int.from_bytes(data[index : index + 4], "big", signed=True)
        index += 4
        if size <= 0 or size % 4 or index + size > len(data):
            raise ParseError(f"bundle element size {size} does not fit the datagram")
        _check(data[index : index + size], limits, depth + 1, count)
        index += size


def _check_type_tags(data: bytes, limits: WireLimits) -> None:
    """The address, the type tags and every string argument: python-osc reads strings a
    byte at a time in Python (2 ms for 60 KB), so a long one is refused here first."""
    start = _string_end(data, 0, limits, "the address")
    if start >= len(data) or data[start : start + 1] != b",":
        return  # no type tags: an (old-style) message without arguments
    tag_end = data.find(b"\x00", start)
    if tag_end < 0:
        raise ParseError("type tags are not terminated")
    tags = data[start + 1 : tag_end].decode("latin-1")
    unknown = set(tags) - TYPE_TAGS
    if unknown:
        raise ParseError(f"unsupported OSC type tag(s) {''.join(sorted(unknown))!r}")
    if len(tags) > limits.max_arguments:
        raise TooMuch(
            f"{len(tags)} arguments in one message, more than {limits.max_arguments} (osc.max_arguments)"
        )
    index = (tag_end // 4 + 1) * 4
    for tag in tags:
        if tag == "s":
            index = _string_end(data, index, limits, "a string argument")
        elif tag == "b":
            size = int.from_bytes(data[index : index + 4], "big", signed=True)
            if size < 0 or size > limits.max_string:
                raise TooMuch(f"a blob of {size} bytes, more than {limits.max_string}")
            index += 4 + (size + 3) // 4 * 4
        else:
            index += _FIXED[tag]
        if index > len(data):
            raise ParseError("arguments cut short")


def _string_end(data: bytes, start: int, limits: WireLimits, what: str) -> int:
    """Where the next item begins after the padded string at `start`."""
    end = data.find(b"\x00", start, start + limits.max_string + 1)
    if end < 0:
        if data.find(b"\x00", start) < 0:
            raise ParseError(f"{what} is not terminated")
        raise TooMuch(f"{what} is longer than {limits.max_string} bytes")
    return (end // 4 + 1) * 4  # strings are padded to 4 bytes
