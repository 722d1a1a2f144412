"""Music as data: MIDI files in and out, the corpus and its token shards, augmentation,
metrics, evaluation (bits per event) and offline generation."""
