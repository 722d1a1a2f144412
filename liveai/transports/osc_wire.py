"""A structural check of OSC datagrams before python-osc parses them.

python-osc trusts bundle element sizes: a negative size makes its parser loop forever
(one datagram would freeze the server), an unknown element or type tag is skipped
with a warning on the root logger (hostile traffic would flood the logs). This walk
refuses such datagrams first; python-osc then decodes the well-formed ones.
"""

from __future__ import annotations

from pythonosc.osc_packet import ParseError

BUNDLE_PREFIX = b"#bundle\x00"
MAX_NESTING = 8
TYPE_TAGS = frozenset("ifsbhdtTFNIcmr[]")


def check_datagram(data: bytes, depth: int = 0) -> None:
    """Raise ParseError unless `data` is a well-formed OSC message or bundle."""
    if data.startswith(BUNDLE_PREFIX):
        _check_bundle(data, depth)
    elif data.startswith(b"/"):
        _check_type_tags(data)
    else:
        raise ParseError("neither an OSC message ('/...') nor a bundle ('#bundle')")


def _check_bundle(data: bytes, depth: int) -> None:
    if depth >= MAX_NESTING:
        raise ParseError(f"bundles nested deeper than {MAX_NESTING}")
    if len(data) < 16:
        raise ParseError("bundle shorter than its header")
    index = 16  # "#bundle\0" and the 8-byte timetag
    while index < len(data):
        if index + 4 > len(data):
            raise ParseError("bundle element size cut short")
        size = int.from_bytes(data[index:index + 4], "big", signed=True)
        index += 4
        if size <= 0 or size % 4 or index + size > len(data):
            raise ParseError(f"bundle element size {size} does not fit the datagram")
        check_datagram(data[index:index + size], depth + 1)
        index += size


def _check_type_tags(data: bytes) -> None:
    end = data.find(b"\x00")
    if end < 0:
        raise ParseError("address is not terminated")
    start = (end // 4 + 1) * 4  # strings are padded to 4 bytes
    if start >= len(data) or data[start:start + 1] != b",":
        return  # no type tags: an (old-style) message without arguments
    tag_end = data.find(b"\x00", start)
    if tag_end < 0:
        raise ParseError("type tags are not terminated")
    unknown = set(data[start + 1:tag_end].decode("latin-1")) - TYPE_TAGS
    if unknown:
        raise ParseError(f"unsupported OSC type tag(s) {''.join(sorted(unknown))!r}")
