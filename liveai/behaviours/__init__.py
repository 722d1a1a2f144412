"""What liveai plays: off, thru, harmonize (by rule or with the model), duet, autopilot,
and what they share (a session's listener, generated parts, model jobs). `registry`
maps each mode name to its behaviour; the server hands it to the engine."""
