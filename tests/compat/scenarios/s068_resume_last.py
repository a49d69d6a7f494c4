"""fit(ckpt_path="last"): the newest last*.ckpt in the ModelCheckpoint's folder is resumed; with no
last file in the (new) folder, a warning and a fresh start."""

import torch
from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


def trainer_with(ckpt, max_epochs):
    return quiet_trainer(
        max_epochs=max_epochs, callbacks=[ckpt], limit_train_batches=2, limit_val_batches=1
    )


def main() -> None:
    first = trainer_with(pl.callbacks.ModelCheckpoint(dirpath="ckpts", save_last=True), 2)
    T.fit(first, Net(), datamodule=DataModule())
    model = Net()
    resumed = trainer_with(pl.callbacks.ModelCheckpoint(dirpath="ckpts", save_last=True), 3)
    T.fit(resumed, model, datamodule=DataModule(), ckpt_path="last")
    T.note("ckpt_path", rel(resumed.ckpt_path))
    torch.manual_seed(3)
    fresh = trainer_with(pl.callbacks.ModelCheckpoint(save_last=True), 1)
    T.fit(fresh, Net(), datamodule=DataModule(), ckpt_path="last")  # its folder has no last.ckpt
    T.note("fresh_ckpt_path", rel(fresh.ckpt_path))
    T.final(model)
