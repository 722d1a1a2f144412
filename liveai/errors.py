"""One exception hierarchy for liveai; foreign errors are translated at the boundary."""

from __future__ import annotations


class LiveaiError(Exception):
    """Base of every error liveai raises on purpose."""


class ConfigError(LiveaiError):
    """A configuration value is missing, of the wrong type or out of range."""


class CommandError(LiveaiError):
    """A command or message cannot be carried out; `code` is sent back to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CommandFault(LiveaiError):
    """A command failed by a bug in liveai, not the client's mistake: contained and counted
    (`internal_errors`) where it ran; the transport answers the client with `internal`."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransportError(LiveaiError):
    """A transport lost its peer (device unplugged, broker gone); a supervisor retries."""


class MidiFileError(LiveaiError):
    """A MIDI file cannot be read (bad input: `liveai generate` exits with 2)."""
