"""self.log in epoch-end and batch-end hooks of the module and of a callback."""

from typing import Any

from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Hooks(Net):
    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.log("m_batch_end", float(batch_idx))

    def on_train_epoch_end(self) -> None:
        self.log("m_train_epoch_end", float(self.current_epoch) + 0.5)

    def on_validation_epoch_end(self) -> None:
        self.log("m_val_epoch_end", 3.0, prog_bar=True)

    def on_train_epoch_start(self) -> None:
        self.log("m_train_epoch_start", 7.0)


class LogCallback(pl.Callback):
    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        pl_module.log("cb_batch_end", outputs["loss"] * 10)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        pl_module.log("cb_train_epoch_end", 1.5)

    def on_validation_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        pl_module.log("cb_val_batch_end", float(batch_idx))

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        pl_module.log("cb_val_epoch_end", 2.5)
        T.note(f"cb_metrics_at_val_end_{trainer.current_epoch}", sorted(trainer.callback_metrics))


def main() -> None:
    model = Hooks()
    trainer = quiet_trainer(
        max_epochs=2,
        log_every_n_steps=1,
        logger=pl.loggers.CSVLogger("."),
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=2,
        callbacks=[LogCallback()],
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
