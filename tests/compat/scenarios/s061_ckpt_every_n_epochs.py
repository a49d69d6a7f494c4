"""ModelCheckpoint(every_n_epochs=2, save_top_k=-1, save_last=True) over 5 epochs."""

from harness import T, pl
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    ckpt = pl.callbacks.ModelCheckpoint(every_n_epochs=2, save_top_k=-1, save_last=True)
    trainer = quiet_trainer(
        max_epochs=5, callbacks=[ckpt], limit_train_batches=2, limit_val_batches=1
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note("state_key", ckpt.state_key)
    T.final(model)
