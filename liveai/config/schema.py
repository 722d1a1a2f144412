"""The configuration schema: one dataclass per section; the defaults are the default
configuration (`config/default.toml` spells them out and a test keeps the two equal).
Each value's type carries its range or choices (see `types`); `load` checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from .types import (
    AUDIO_PLAY,
    MIDI_APIS,
    Bpm,
    Channel,
    Choice,
    KeyName,
    ModeName,
    Pitch,
    Range,
    ScaleName,
    Temperature,
)


@dataclass
class ServerConfig:
    mode: ModeName = "harmonize"  # the registry refuses a mode not available here
    temperature: Temperature = 1.0
    # "shared": everyone plays into one session; "per_source": each OSC host, stage page,
    # MIDI input and named session has its own (own mode, own model state); MQTT plays
    # into the shared one.
    sessions: Annotated[str, Choice(("shared", "per_source"))] = "shared"
    max_sessions: Annotated[int, Range(1, 1024)] = 32
    log_level: Annotated[str, Choice(("debug", "info", "warning", "error"))] = "info"


@dataclass
class OscConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Range(0, 65535)] = 9000
    # Everything liveai sends goes to these "host:port" targets plus every subscriber.
    targets: list[str] = field(default_factory=lambda: ["127.0.0.1:9001"])
    # What the targets (and subscribers) add before the sound: scheduled output goes that much earlier.
    latency_ms: Annotated[float, Range(0.0, 1000.0)] = 0.0
    max_subscribers: Annotated[int, Range(1, 1024)] = 32
    # A patch that reloads subscribes again from a new port: past this many subscribers
    # of one host its oldest is replaced; when all are taken, the one whose host has
    # been silent longest gives way once it has been silent this long.
    max_subscribers_per_host: Annotated[int, Range(1, 1024)] = 8
    subscriber_idle_s: Annotated[float, Range(1.0, 86400.0)] = 300.0
    # Bundles timetagged further ahead than this are refused (memory stays bounded).
    max_bundle_delay_s: Annotated[float, Range(0.0, 3600.0)] = 60.0
    max_pending_bundles: Annotated[int, Range(1, 100000)] = 1024
    # One datagram carries at most this many messages, each at most this many arguments.
    max_messages_per_datagram: Annotated[int, Range(1, 4096)] = 128
    max_arguments: Annotated[int, Range(1, 1024)] = 32
    max_string_bytes: Annotated[int, Range(64, 65536)] = 1024  # an address, a string or blob argument
    # Error replies per sending host and second; beyond, they are counted, not sent.
    max_errors_per_s: Annotated[float, Range(0.1, 10000.0)] = 20.0
    # Strings liveai echoes (ping tokens, addresses in errors) are at most this long.
    max_echo_chars: Annotated[int, Range(16, 8192)] = 256


@dataclass
class MidiConfig:
    enabled: bool = True
    api: Annotated[str, Choice(MIDI_APIS)] = "auto"
    # Create virtual ports named "<client_name> in"/"<client_name> out".
    virtual: bool = True
    client_name: str = "liveai"
    # Hardware or software ports to connect to, matched by substring of their name.
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    # What the outputs add before the sound: scheduled output goes that much earlier.
    latency_ms: Annotated[float, Range(0.0, 1000.0)] = 0.0
    # Another latency for the outputs whose name holds this text (first match), e.g.
    # { "FLUID" = 40 }; "liveai out" names the virtual port.
    output_latency_ms: dict[str, Annotated[float, Range(0.0, 1000.0)]] = field(default_factory=dict)
    poll_s: Annotated[float, Range(0.05, 60.0)] = 1.0
    clock_in: bool = True
    clock_out: bool = False
    # "controller number" -> target, e.g. { "1" = "temperature", "74" = "morph" }.
    cc_map: dict[str, str] = field(default_factory=lambda: {"1": "temperature", "74": "morph"})
    # "program number" -> mode, e.g. { "0" = "off", "1" = "thru" }.
    program_map: dict[str, str] = field(
        default_factory=lambda: {
            "0": "off",
            "1": "thru",
            "2": "harmonize",
            "3": "duet",
            "4": "autopilot",
            "5": "morph",
        }
    )


@dataclass
class MqttConfig:
    # Off unless set, e.g. "mqtt://127.0.0.1:1883" or "mqtts://broker:8883".
    url: str = ""
    instance: str = "default"
    username: str = ""
    password: str = ""
    # TLS: on for mqtts:// urls; ca_file empty = system trust store.
    ca_file: str = ""
    certfile: str = ""
    keyfile: str = ""
    telemetry_s: Annotated[float, Range(0.1, 3600.0)] = 5.0
    keepalive_s: Annotated[int, Range(1, 3600)] = 10
    reconnect_max_s: Annotated[float, Range(0.1, 600.0)] = 10.0
    # Command names and messages echoed in errors (and their log line) are at most this long.
    max_echo_chars: Annotated[int, Range(16, 8192)] = 256
    # Home Assistant MQTT discovery: liveai announces itself as a device (retained, under
    # `<discovery_prefix>/device/liveai_<instance>/config`). Turned off, liveai removes the
    # device it announced before; a shutdown does not (the status says offline).
    discovery: bool = False
    discovery_prefix: str = "homeassistant"


@dataclass
class ClockConfig:
    bpm: Bpm = 120.0
    # "internal" keeps its own tempo, "midi" follows incoming MIDI clock, "link" joins
    # the Ableton Link session (pip install liveai[link]), "auto" follows Link while it
    # has peers, else MIDI clock while it arrives, else the internal tempo.
    source: Annotated[str, Choice(("internal", "midi", "link", "auto"))] = "auto"
    # With "auto", join the Link session when aalink is installed. Off by default: Link
    # talks on the local network (UDP multicast), and liveai listens on loopback by default.
    link: bool = False
    # Beats per bar on the Link session: liveai's bars start on its bar lines.
    quantum: Annotated[int, Range(1, 16)] = 4
    # Share play and stop with the Link session's peers that share them too.
    link_start_stop: bool = False
    # Timed output is planned this far ahead of its target time.
    lookahead_ms: Annotated[float, Range(0.0, 1000.0)] = 10.0


@dataclass
class HarmonizeConfig:
    key: KeyName = "C"
    scale: ScaleName = "major"
    # Intervals above the played note, in scale degrees (2 = a third) or semitones.
    intervals: list[int] = field(default_factory=lambda: [2, 4])
    interval_unit: Annotated[str, Choice(("degrees", "semitones"))] = "degrees"
    low: Pitch = 36
    high: Pitch = 96
    # The voices' velocity: the player's times this (a little under the player's).
    velocity: Annotated[float, Range(0.0, 2.0)] = 0.85
    # "harmony": the harmony model voices each note (model.harmony); "continuation": the
    # continuation model proposes the voices; "rule": always the intervals above. A
    # model that is late is answered for by the rule; without the harmony model,
    # "harmony" is "continuation", and without any model it is "rule".
    by: Annotated[str, Choice(("harmony", "continuation", "rule"))] = "harmony"
    voices: Annotated[int, Range(1, 3)] = 2
    # With the harmony model: voices may cross above the melody note (where they move less).
    above: bool = False


@dataclass
class ModelConfig:
    device: Annotated[str, Choice(("auto", "cpu", "cuda", "mps"))] = "auto"
    # A shipped model by name (models/<name>.pt) or a checkpoint path; "" = no model.
    continuation: str = "gru"
    threads: Annotated[int, Range(1, 64)] = 1  # torch threads of the worker
    # "auto": int8 weights on a CPU (faster steps), float32 on a GPU; or "int8" / "none".
    quantize: Annotated[str, Choice(("auto", "int8", "none"))] = "auto"
    seed: Annotated[int, Range(-1, 2**31 - 1)] = -1  # -1: a new seed each run
    # The morph VAE: a shipped name (models/<name>.pt) or a checkpoint path; "" = no morph.
    morph: str = "vae"
    # The harmony model (harmonize.by = "harmony"): a shipped name or a checkpoint path; "" = none.
    harmony: str = "harmony"
    # Where learned models live (`liveai learn`): a name is looked up here first, then among
    # the shipped models; "" = $XDG_DATA_HOME/liveai/models (~/.local/share/liveai/models).
    folder: str = ""


@dataclass
class BudgetConfig:
    harmonize_ms: Annotated[float, Range(0.1, 1000.0)] = 5.0
    duet_ms: Annotated[float, Range(0.1, 10000.0)] = 20.0
    autopilot_ms: Annotated[float, Range(0.1, 10000.0)] = 20.0
    morph_ms: Annotated[float, Range(0.1, 10000.0)] = 50.0


@dataclass
class DuetConfig:
    phrase_gap_ms: Annotated[float, Range(50.0, 10000.0)] = 600.0
    # The answer lasts about as long as the phrase, clamped to this range.
    min_response_s: Annotated[float, Range(0.1, 120.0)] = 1.0
    max_response_s: Annotated[float, Range(0.1, 120.0)] = 8.0
    # When the transport follows or leads a clock, a phrase also ends with its bar.
    answer_on_bar: bool = True
    beats_per_bar: Annotated[int, Range(1, 16)] = 4
    # Snap answer notes to this fraction of a beat (0: see rhythm).
    quantize_beats: Annotated[float, Range(0.0, 4.0)] = 0.0
    # "follow": the answer starts on the call's grid (a running clock's beats, else the
    # pulse inferred from the call's onsets) carried forward and its notes begin only on
    # it, at most as many at once as the call began, never sooner than half the call's
    # shortest time between onsets; "free": as the model plays them.
    rhythm: Annotated[str, Choice(("follow", "free"))] = "follow"
    # With "follow": how far each grid point's odds of a note lean towards the call's
    # pattern of times between onsets (0: the model's own odds; 1: the call's).
    rhythm_pull: Annotated[float, Range(0.0, 1.0)] = 0.75
    max_polyphony: Annotated[int, Range(1, 16)] = 4
    # Answer velocities follow the call's touch (its level, accents and contour), times this.
    velocity: Annotated[float, Range(0.1, 2.0)] = 1.0
    # "follow": answers keep to the key of what the player played (Krumhansl-Schmuckler);
    # "state": to the key/scale set by /liveai/key; "free": the model alone decides.
    key: Annotated[str, Choice(("follow", "state", "free"))] = "follow"
    key_pull: Annotated[float, Range(0.0, 8.0)] = 4.0  # with "follow": keep degrees in proportion
    # With "follow": how much the phrases before the latest one count in judging the key
    # (1: all recent notes alike; lower follows a player who changes key).
    key_memory: Annotated[float, Range(0.0, 1.0)] = 0.2
    # How strongly an answer leans towards the call's pace (notes per second); 0: not at all.
    pace_pull: Annotated[float, Range(0.0, 8.0)] = 3.0


@dataclass
class AutopilotConfig:
    horizon_s: Annotated[float, Range(0.2, 30.0)] = 2.0  # generated ahead of now
    # density 0..1 maps onto this many notes per second
    min_notes_per_s: Annotated[float, Range(0.05, 50.0)] = 0.5
    max_notes_per_s: Annotated[float, Range(0.1, 100.0)] = 8.0
    max_polyphony: Annotated[int, Range(1, 16)] = 4
    # Every so often the state restarts from its own recent output (bounded memory, no drift).
    reprime_s: Annotated[float, Range(5.0, 86400.0)] = 300.0
    channel: Channel = 1


@dataclass
class MorphConfig:
    # Points decoded between slots a and b whenever a slot changes (a knob turn is a lookup).
    steps: Annotated[int, Range(2, 65)] = 17
    # A knob turn changes the pattern at the next "bar" or the next "beat".
    switch: Annotated[str, Choice(("bar", "beat"))] = "bar"
    # morph/load reads MIDI files from this folder only (created on first use).
    folder: str = "phrases"
    channel: Channel = 1
    # Velocity of the loop's notes; 0: the captured phrases' own (blended by the knob).
    velocity: Annotated[int, Range(0, 127)] = 0
    # How far (nats) from the model's own best a decoded step may be, so that the points
    # change as little as they can from one to the next: higher, a knob turn changes fewer
    # steps; 0, plain greedy decoding (chosen on the validation split, models/README.md).
    lean: Annotated[float, Range(0.0, 20.0)] = 2.5


@dataclass
class AudioConfig:
    # liveai plays its own sound with the neural synth (through JACK when a JACK server
    # runs, else the default sound card); the notes still go out over MIDI and OSC.
    enabled: bool = False
    # The synth: a shipped name (models/<name>.pt) or a checkpoint path.
    model: str = "synth"
    # What it plays: the model's notes, or "all" to add the player's own.
    play: Annotated[str, Choice(AUDIO_PLAY)] = "model"
    device: str = ""  # a substring of the output device's name; "" = JACK, else the default
    samplerate: Annotated[int, Range(8000, 192000)] = 48000  # the synth's own rate (synth.pt: 48000)
    blocksize: Annotated[int, Range(16, 8192)] = 256  # frames per callback
    latency_ms: Annotated[float, Range(0.0, 1000.0)] = 0.0  # PortAudio's output latency; 0 = the device's low
    # How long before the callback takes a block the render process renders it. A note
    # sounds a block and this headroom after it is due; more headroom rides out a render
    # that took longer (a busy machine, more voices) at that much latency (the README
    # gives the measured underruns and note -> sound at this default).
    headroom_ms: Annotated[float, Range(0.5, 200.0)] = 8.0
    # Realtime scheduling (SCHED_FIFO) for the render process, when the system allows it.
    realtime: bool = True
    polyphony: Annotated[int, Range(1, 64)] = 16  # voices; more notes steal the oldest
    # The synth's level is FluidSynth's, quiet for a live output; its peaks grow with the
    # notes sounding, and past full scale the stream clips (grit at a chord's onset):
    # the default keeps the loudest chords and songs measured below it (models/README.md).
    gain: Annotated[float, Range(0.0, 16.0)] = 2.5


@dataclass
class LearnConfig:
    # Keep what each player plays as dated MIDI files in `folder` (off: nothing is kept).
    record: bool = False
    # The folder of recorded playing; "" = $XDG_DATA_HOME/liveai/recorded.
    folder: str = ""
    # /liveai/learn keeps its last `keep` models (learned-*) in the model folder, 0 = all; an
    # older one goes after each learn, never the one playing or one undo can go back to
    # (eight deep: liveai.live.switch.UNDO_DEPTH), never a file liveai did not write.
    keep: Annotated[int, Range(0, 10000)] = 8
    # Torch threads of a learn (a live learn runs in a child process at `priority`).
    threads: Annotated[int, Range(1, 64)] = 1
    # A live learn's priority: "idle" runs it on CPU time nothing else wants (nice 19 and
    # Linux's idle class); "normal" shares the CPU with the server at equal weight (a machine
    # with nothing else to do, between sets: it finishes sooner, the music may stutter).
    priority: Annotated[str, Choice(("idle", "normal"))] = "idle"
    # The player's notes read into memory at most (a folder past it is read in part, counted).
    max_memory_mb: Annotated[int, Range(16, 65536)] = 512
    # Files larger than this are skipped before they are read.
    max_file_mb: Annotated[float, Range(0.01, 1024.0)] = 16.0
    # The learning itself: stop after `minutes` (0 = no limit) or when the held-out score has
    # not improved for `patience` evaluations, one every `eval_every` steps.
    minutes: Annotated[float, Range(0.0, 1440.0)] = 10.0
    # /liveai/learn's time budget instead (between songs: minutes, not `liveai learn`'s ten).
    live_minutes: Annotated[float, Range(0.0, 1440.0)] = 3.0
    patience: Annotated[int, Range(1, 1000)] = 4
    eval_every: Annotated[int, Range(1, 100000)] = 25
    lr: Annotated[float, Range(1e-6, 1.0)] = 5e-4
    batch_size: Annotated[int, Range(1, 1024)] = 16
    seq_len: Annotated[int, Range(16, 4096)] = 256
    # No forgetting: an L2 pull toward the base model's weights (L2-SP) of this strength.
    l2sp: Annotated[float, Range(0.0, 1000.0)] = 0.01
    # With a replay corpus (`--replay DIR`), this share of each batch comes from it.
    replay_share: Annotated[float, Range(0.0, 0.9)] = 0.25
    # A prepared corpus (scripts/prepare_data.py) whose test split shows forgetting on the
    # card; "" or absent (as on a player's machine): the card says so.
    corpus: str = "data/corpus"


@dataclass
class WebConfig:
    # The stage page (/view) and OSCQuery (/), one HTTP port on liveai's loop.
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Range(0, 65535)] = 9080
    # Beyond loopback every request needs this token (empty: one is made and printed at start).
    token: str = ""
    # Host names besides the bound address and localhost that browsers may use (e.g. "stage.local").
    allowed_hosts: list[str] = field(default_factory=list)
    # mDNS advertising of _oscjson._tcp and _osc._udp: "auto" = on beyond loopback only.
    zeroconf: Annotated[str, Choice(("auto", "on", "off"))] = "auto"
    max_clients: Annotated[int, Range(1, 256)] = 8


@dataclass
class StatusConfig:
    # Window over which events/s and latency percentiles are computed.
    window_s: Annotated[float, Range(1.0, 3600.0)] = 10.0


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    osc: OscConfig = field(default_factory=OscConfig)
    midi: MidiConfig = field(default_factory=MidiConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    clock: ClockConfig = field(default_factory=ClockConfig)
    harmonize: HarmonizeConfig = field(default_factory=HarmonizeConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    duet: DuetConfig = field(default_factory=DuetConfig)
    autopilot: AutopilotConfig = field(default_factory=AutopilotConfig)
    morph: MorphConfig = field(default_factory=MorphConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    learn: LearnConfig = field(default_factory=LearnConfig)
    web: WebConfig = field(default_factory=WebConfig)
    status: StatusConfig = field(default_factory=StatusConfig)
