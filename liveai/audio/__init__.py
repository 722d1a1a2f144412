"""Sound from liveai itself: the neural synth's voices, features and renderer, the render
thread and its shared ring, the audio process that plays it, and the audio devices."""
