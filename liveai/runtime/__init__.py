"""Running models live: device choice, the worker thread, per-session states."""
