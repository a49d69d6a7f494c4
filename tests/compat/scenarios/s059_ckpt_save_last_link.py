"""ModelCheckpoint(save_last="link", save_top_k=2, monitor): what last.ckpt is and points at."""

import os
from pathlib import Path

from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net(lr=0.05)
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=2, save_last="link")
    trainer = quiet_trainer(max_epochs=3, callbacks=[ckpt], limit_train_batches=2)
    T.fit(trainer, model, datamodule=DataModule())
    last = ckpt.last_model_path
    T.note("last_model_path", rel(last))
    T.note("is_link", os.path.islink(last))
    T.note("link_target", os.readlink(last) if os.path.islink(last) else None)
    newest = Path(ckpt.dirpath) / "epoch=2-step=6.ckpt"
    T.note("same_bytes_as_newest", Path(last).read_bytes() == newest.read_bytes())
    T.final(model)
