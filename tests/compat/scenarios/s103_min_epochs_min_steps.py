"""min_epochs / min_steps against an early stop request (trainer.should_stop=True at the first
batch): training goes on until both minimums are met, then stops."""

from typing import Any

from harness import T, pl
from models import DataModule, Flow, Net, bare_trainer


class StopAtOnce(pl.Callback):
    def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
        trainer.should_stop = True


def main() -> None:
    model = Net()
    epochs = bare_trainer(
        max_epochs=5,
        min_epochs=3,
        limit_train_batches=2,
        limit_val_batches=1,
        callbacks=[StopAtOnce(), Flow()],
    )
    T.fit(epochs, model, datamodule=DataModule())
    steps = bare_trainer(
        max_epochs=5,
        min_steps=5,
        limit_train_batches=2,
        limit_val_batches=1,
        callbacks=[StopAtOnce(), Flow()],
    )
    T.fit(steps, model, datamodule=DataModule())
    T.final(model)
