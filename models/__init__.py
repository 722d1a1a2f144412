"""The shipped checkpoints and their card. This folder is the package data `liveai.shipped`
(see pyproject.toml): a wheel carries it, and `liveai.models.shipped` finds it."""
