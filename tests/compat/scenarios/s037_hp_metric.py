"""TensorBoardLogger hp_metric: default -1, default_hp_metric=False, log_hyperparams with metrics."""

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class HP(Net):
    def __init__(self, lr: float = 0.1, nested: dict = {"a": 1, "b": {"c": "d"}}) -> None:  # noqa: B006
        super().__init__(lr)
        self.save_hyperparameters()

    def on_validation_epoch_end(self) -> None:
        self.log("hp_metric", self.trainer.callback_metrics["val_loss"])


def main() -> None:
    trainer = quiet_trainer(
        max_epochs=2,
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=1,
        logger=pl.loggers.TensorBoardLogger(".", name="default"),
    )
    torch.manual_seed(0)
    T.fit(trainer, HP(), datamodule=DataModule())
    trainer = quiet_trainer(
        max_epochs=1,
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=1,
        logger=pl.loggers.TensorBoardLogger(".", name="off", default_hp_metric=False),
    )
    torch.manual_seed(0)
    T.fit(trainer, HP(), datamodule=DataModule())
    logger = pl.loggers.TensorBoardLogger(".", name="direct")
    logger.log_hyperparams({"x": 1, "y": "z"}, {"score": 0.5, "other": 2})
    logger.log_hyperparams({"w": 2.5}, 0.75)
    logger.log_metrics({"m": 1.0}, step=3)
    logger.finalize("success")
