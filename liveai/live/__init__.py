"""Learning live: switching the continuation model's weights between events, keeping
what each player plays as MIDI files, and learning from them in a child process while
the music goes on."""
