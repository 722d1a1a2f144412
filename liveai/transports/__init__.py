"""Thin adapters between bytes (OSC, MIDI, MQTT) and liveai events."""
