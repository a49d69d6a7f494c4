"""save_on_train_epoch_end: False saves after each validation (val_check_interval=0.5); True saves
at the training epoch end. Two callbacks in one run, each keeping all its files."""

from harness import RecordingCallback, T, pl
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    after_val = pl.callbacks.ModelCheckpoint(
        dirpath="after_val", save_top_k=-1, save_on_train_epoch_end=False
    )
    at_end = pl.callbacks.ModelCheckpoint(
        dirpath="at_end", save_top_k=-1, monitor="val_loss", save_on_train_epoch_end=True
    )
    trainer = quiet_trainer(
        max_epochs=2,
        callbacks=[after_val, at_end, RecordingCallback()],
        limit_train_batches=4,
        limit_val_batches=1,
        val_check_interval=0.5,
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
