"""liveai: a realtime live-performance server for playing music with neural models."""

__version__ = "0.1.0"
