"""Playing with the model live: model harmonize, duet (call and response), autopilot."""
