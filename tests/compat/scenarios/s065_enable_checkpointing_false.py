"""enable_checkpointing=False: no files, checkpoint_callback is None; with a ModelCheckpoint in
callbacks it is an error."""

from harness import T, pl
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    trainer = quiet_trainer(max_epochs=2, enable_checkpointing=False, limit_train_batches=2)
    T.fit(trainer, model, datamodule=DataModule())
    T.note("checkpoint_callbacks", len(trainer.checkpoint_callbacks))
    try:
        quiet_trainer(enable_checkpointing=False, callbacks=[pl.callbacks.ModelCheckpoint()])
    except Exception as exc:  # noqa: BLE001
        T.note("error", [type(c).__name__ for c in type(exc).__mro__][:3])
    T.final(model)
