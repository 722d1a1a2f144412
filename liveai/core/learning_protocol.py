"""The protocol of learning live: what the server offers, switching the continuation
model's weights, learning from tonight's playing in the background, and going back.
The commands (liveai.control.learn_commands) and the engine's mapped triggers reach it
through this protocol; the server implements it (liveai.live.learn_job)."""

from __future__ import annotations

from typing import Protocol

from .commands import Request


class Learning(Protocol):
    def switch(self, name: str, request: Request | None = None) -> None:
        """Play with the model `name` from the next event on (CommandError at once for
        a bad name; a file that will not load is refused on `request` later)."""
        ...

    def learn(self, request: Request | None = None) -> None:
        """Start learning from the recorded folder in the background (`busy` if it runs)."""
        ...

    def stop(self) -> None:
        """End the learning early: it keeps its best weights so far."""
        ...

    def undo(self, request: Request | None = None) -> None:
        """Go back to the model played before the last switch."""
        ...
