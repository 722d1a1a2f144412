"""Sound from liveai itself: the audio devices (the render thread and the stream come
with the neural synth)."""
