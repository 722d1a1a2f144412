"""The commands of learning live: the model that plays, learning from tonight's
playing in the background, and going back. The server does the work
(liveai.core.learning_protocol.Learning, made by liveai.live.learn_job)."""

from __future__ import annotations

from ..core.commands import CommandDef, Request, command
from ..core.engine import Engine
from ..core.learning_protocol import Learning
from ..errors import CommandError


def _learning(engine: Engine) -> Learning:
    if engine.learning is None:
        raise CommandError("unavailable", "no continuation model is loaded (model.continuation)")
    return engine.learning


@command("model")
def model(engine: Engine, request: Request, name: str | None = None) -> None:
    """With no argument, answered by `/liveai/out/model name`: the model playing. With one, play
    with the continuation model `name` (a learned one in the model folder, `model.folder` or
    the XDG data folder's `liveai/models`, else a shipped one: `gru`, `transformer`). It is loaded off
    the loop; answers go on with the old weights until the new take over between events, each session
    primed again from what it played lately, no note ended; `/liveai/out/model name` says so. A name
    that is a path or no model's is refused `bad_value`, a file that will not load `bad_file`: the old
    model plays on. `busy` while another loads."""
    learning = _learning(engine)
    if name is None:
        request.replies.reply("/liveai/out/model", engine.state["model"])
        return
    learning.switch(name, request)


@command("learn")
def learn(engine: Engine, request: Request) -> None:
    """Learn from what was played (`learn.record` keeps it in `learn.folder`) while the music goes
    on: `liveai learn` runs as a child process at `learn.priority` (the lowest by default) on
    `learn.threads` threads, for `learn.live_minutes` at most. Refused `unavailable` at once
    when nothing was recorded.
    `/liveai/out/learn stage [name value ...]` reports it (`starting name eta_s s`, `reading`,
    `evaluating`, `learning` with `step`, `minutes`, `eta_s` every 2 s and `validation_bits` at each
    evaluation; `saved` once the weights are kept; `done` with `files`, `notes` and the held-out figures
    `before_*` and `after_*`; `warning "small: ..."` after few takes), then `switching name` and
    `playing name` as its weights take over (as `/liveai/model`), or `no improvement name` if nothing
    beat the model playing; a failure `error "why"`, and the model stays. `busy` while one runs; a
    panic does not stop it. Also a `midi.cc_map` or `midi.program_map` target (`learn`)."""
    _learning(engine).learn(request)


@command("learn/stop")
def learn_stop(engine: Engine, request: Request) -> None:
    """End the learning early: it keeps its best weights so far, which then play (`learn/undo`
    goes back)."""
    _learning(engine).stop()


@command("learn/undo")
def learn_undo(engine: Engine, request: Request) -> None:
    """Go back to the model that played before the last switch (learned or by `/liveai/model`),
    as `/liveai/model` switches."""
    _learning(engine).undo(request)


LEARNING: tuple[CommandDef, ...] = (model, learn, learn_stop, learn_undo)
