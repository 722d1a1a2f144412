"""Running models live: the device, the worker thread, the token stepper with its
per-session states, int8 and TorchScript for the CPU, and the port the engine uses;
and liveai's word to systemd (readiness, status, the watchdog)."""
