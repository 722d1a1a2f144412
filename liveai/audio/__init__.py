"""Sound from liveai itself: the neural synth's voices, features and renderer, the render
process and its shared ring, the output process that plays it, and the audio devices."""
