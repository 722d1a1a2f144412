"""The shared musical vocabulary: timed notes, keys and scales, tonality (no torch, no I/O)."""
