"""CSVLogger: metrics.csv header and column order, rows, hparams.yaml with hyper-parameters;
then a second run into the same version folder (Lightning deletes the old rows, plkit keeps them)."""

from typing import Any

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Cols(Net):
    def __init__(self, lr: float = 0.1, hidden: int = 4, name: str = "net") -> None:
        super().__init__(lr)
        self.save_hyperparameters()

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self.loss(batch)
        self.log("zeta", loss)
        self.log("alpha", loss * 2)
        if batch_idx == 2:
            self.log("late", loss * 3)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("beta_val", self.loss(batch))


def main() -> None:
    model = Cols()
    logger = pl.loggers.CSVLogger(".", name="csvexp", prefix="")
    trainer = quiet_trainer(
        max_epochs=2,
        log_every_n_steps=1,
        logger=logger,
        enable_progress_bar=False,
        limit_val_batches=1,
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note("csv", [logger.name, logger.version, logger.log_dir])
    T.final(model)
    again = pl.loggers.CSVLogger(".", name="reused", version=0)
    for run in range(2):
        torch.manual_seed(run)
        trainer = quiet_trainer(
            max_epochs=1,
            limit_train_batches=2,
            limit_val_batches=0,
            log_every_n_steps=1,
            logger=again if run == 0 else pl.loggers.CSVLogger(".", name="reused", version=0),
            enable_progress_bar=False,
            enable_checkpointing=False,
        )
        T.fit(trainer, Net(), datamodule=DataModule())
