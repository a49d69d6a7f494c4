"""trainer.init_module(): a model built inside it, with empty_init=True and without, then fit
and a resume from the checkpoint into an empty-initialised model."""

import torch
from harness import T
from models import DataModule, Net, quiet_trainer


def main() -> None:
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=2, enable_progress_bar=False)
    with trainer.init_module():
        model = Net(lr=0.05)
    T.note("device", str(next(model.parameters()).device))
    T.fit(trainer, model, datamodule=DataModule())
    trainer.save_checkpoint("done.ckpt")
    second = quiet_trainer(max_epochs=2, limit_train_batches=2, enable_progress_bar=False)
    with second.init_module(empty_init=True):
        empty = Net(lr=0.05)
    T.fit(second, empty, datamodule=DataModule(), ckpt_path="done.ckpt")
    T.note("finite", bool(all(torch.isfinite(p).all() for p in empty.parameters())))
    T.final(empty)
