"""ModelCheckpoint(save_last="link") with a memory:// folder: refused when fit sets it up
(object stores have no symbolic links), before any training."""

from harness import T, pl
from models import DataModule, Net, caught, quiet_trainer


def main() -> None:
    ckpt = pl.callbacks.ModelCheckpoint(dirpath="memory://run/ck", save_last="link")
    trainer = quiet_trainer(max_epochs=1, logger=False, callbacks=[ckpt])
    T.note("fit", caught(lambda: trainer.fit(Net(), datamodule=DataModule())))
    T.note("global_step", trainer.global_step)
