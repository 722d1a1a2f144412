"""Learning: the training loop the shipped models were trained with, and `liveai learn`,
which fine-tunes them on a player's own MIDI files (docs/learn.md)."""
