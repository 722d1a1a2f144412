"""Value types with their ranges and choices, shared by the config schema and the
command table: a range or a list of names is written once, here or in `music`.

`Annotated[float, Range(0.05, 2.0, clamp=True)]` says everything about a value: config
loading refuses anything outside the range (a typo must not start a show), a command
clamps it when `clamp` is set (a knob turned past its end) and refuses it otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from ..music.scales import KEYS, SCALES


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float
    clamp: bool = False  # commands clamp into the range, else refuse

    def __contains__(self, value: float) -> bool:
        return self.lo <= value <= self.hi

    def fit(self, value: float) -> float:
        return min(max(float(value), self.lo), self.hi)


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]


MODES = ("off", "thru", "harmonize", "duet", "autopilot", "morph")  # liveai.behaviours.registry serves each
MIDI_APIS = ("auto", "jack", "alsa", "coremidi", "winmm", "none")
AUDIO_PLAY = ("all", "model")  # the synth plays everything, or liveai's notes only

TEMPERATURE = Range(0.05, 2.0, clamp=True)
TEMPO = Range(20.0, 300.0, clamp=True)
UNIT = Range(0.0, 1.0, clamp=True)
# Public values a CC can be mapped to (`midi.cc_map`), scaled from 0..127 onto their range.
CONTROLS = {"temperature": TEMPERATURE, "tempo": TEMPO, "morph": UNIT, "density": UNIT}
SLOTS = ("a", "b")  # the morph slots
# Actions a CC (value >= 64: a button pressed) or a program change can trigger (`midi.cc_map`,
# `midi.program_map`): the transport's, which the engine does (its methods of these names),
# and the captures of the last bars into a morph slot, which the registry does.
TRANSPORT_ACTIONS = ("panic", "play", "stop")
CAPTURES = {f"capture_{slot}": slot for slot in SLOTS}
# ... and learning from what was played tonight (`/liveai/learn`), which the server does.
LEARN_ACTIONS = ("learn",)
TRIGGERS = (*CAPTURES, *TRANSPORT_ACTIONS, *LEARN_ACTIONS)

# A MIDI data byte; Pitch and Velocity are it too, named for what the argument carries.
Midi7 = Annotated[int, Range(0, 127)]
Pitch = Velocity = Midi7
Channel = Annotated[int, Range(1, 16)]
Port = Annotated[int, Range(1, 65535)]
Unit = Annotated[float, UNIT]
Temperature = Annotated[float, TEMPERATURE]
Bpm = Annotated[float, TEMPO]
Beats = Annotated[float, Range(0.25, 64.0, clamp=True)]
ModeName = Annotated[str, Choice(MODES)]
KeyName = Annotated[str, Choice(KEYS)]
ScaleName = Annotated[str, Choice(SCALES)]
Slot = Annotated[str, Choice(SLOTS)]
Token = int | float | str  # echoed as sent (ping)
SessionId = int | float | str  # a player's session, by name or number (Pd sends numbers as floats)
