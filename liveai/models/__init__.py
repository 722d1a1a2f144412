"""Continuation models and everything around them (no I/O in model code).

- `codec`: the performance-event vocabulary, offline and streaming encode/decode.
- `base`: the `ContinuationModel` / `ModelState` protocols, `stack_states`.
- `gru`, `transformer`: the two models and their config and state dataclasses.
- `sampling`: temperature, top-p and constraint masks; per-session `Sampler`.
- `checkpoint`: `build_model`, `save_checkpoint`, `load_checkpoint` (the only loader).
- `evaluate`: bits/event of any scorer, `evaluate_midi_files`, `generate_continuation`.
- `ngram`: unigram and Kneser-Ney baselines; `metrics`: key and density figures.
- `data`: corpus rendering, split, augmentation, token shards (numpy only).
- `latency`: step and recompute latency figures.
"""
