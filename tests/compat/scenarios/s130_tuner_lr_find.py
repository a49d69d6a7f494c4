"""Tuner.lr_find (exponential): the recorded learning rates and smoothed losses, the
suggestion set on model.lr, the state restored (weights, step, callbacks), the temporary
checkpoint's name and removal; then fit trains with the suggestion."""

import os
import uuid

from harness import RecordingCallback, T, imp, recorded
from models import Net, bare_trainer, loader

uuid.uuid4 = lambda: uuid.UUID(int=130)  # the temporary checkpoint's name, the same on both sides


class Model(Net):
    def train_dataloader(self):  # type: ignore[no-untyped-def]
        return loader(n=256, batch_size=8)


def main() -> None:
    model = recorded(Model, skip=("log",))(lr=0.01)
    trainer = bare_trainer(max_epochs=2, callbacks=[RecordingCallback()])
    finder = imp("tuner").Tuner(trainer).lr_find(model, num_training=40)
    T.note("lr", finder.results["lr"])
    T.note("loss", finder.results["loss"])
    T.note("suggestion", finder.suggestion())
    T.note("suggestion_3_2", finder.suggestion(skip_begin=3, skip_end=2))
    T.note("model_lr", model.lr)
    T.note("after", {"global_step": trainer.global_step, "epoch": trainer.current_epoch})
    T.note("callbacks", [type(cb).__name__ for cb in trainer.callbacks])
    T.note("files", sorted(os.listdir(trainer.default_root_dir)))
    T.fit(trainer, model)
    T.final(model)
