"""ModelCheckpoint(every_n_train_steps=3, save_top_k=-1): a file every 3 optimizer steps, none at
epoch ends; the hooks around each save."""

from harness import RecordingCallback, T, pl
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    ckpt = pl.callbacks.ModelCheckpoint(every_n_train_steps=3, save_top_k=-1, verbose=True)
    trainer = quiet_trainer(
        max_epochs=2,
        callbacks=[ckpt, RecordingCallback()],
        limit_train_batches=4,
        limit_val_batches=1,
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note("state_key", ckpt.state_key)
    T.final(model)
