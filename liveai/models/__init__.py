"""Continuation models and everything around them, with no I/O (no files, sockets,
MIDI or asyncio: an import-linter contract keeps it so).

- `codec`: the performance-event vocabulary, offline and streaming encode/decode.
- `base`: the `ContinuationModel` protocol, the `TensorState` base, `stack_states`.
- `gru`, `transformer`: the two models and their config and state dataclasses.
- `sampling`: temperature, top-p and constraint masks; per-session `Sampler`.
- `tonality`: `KeyBalance`, keeping an answer's degrees in a key's proportions.
- `checkpoint`: `build_model`, `save_checkpoint`, `load_checkpoint` (the only loader).
- `shipped`: where the shipped checkpoints are.
- `ngram`: unigram and Kneser-Ney baselines.
- `harmony`: the harmony model (a voicing under each melody note); `voicer`: its live
  choice under key, register, voice count and voice leading.
"""
