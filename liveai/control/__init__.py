"""The one command table: every command liveai understands, with its address, typed
arguments (ranges and choices from liveai.config.types), doc and the transports that
carry it. OSC and MQTT dispatch through it; the protocol reference is generated from it.
"""
