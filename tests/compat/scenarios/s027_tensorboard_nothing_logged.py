"""A fit that logs nothing: which TensorBoard files exist, hparams.yaml, and an unused logger."""

from typing import Any

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Silent(Net):
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return self.loss(batch)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.loss(batch)


def main() -> None:
    trainer = quiet_trainer(
        max_epochs=1,
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=1,
        enable_checkpointing=False,
    )
    torch.manual_seed(0)
    T.fit(trainer, Silent(), datamodule=DataModule())
    unused = pl.loggers.TensorBoardLogger("unused")
    T.note("unused_log_dir", unused.log_dir)
    csv_unused = pl.loggers.CSVLogger("unused_csv")
    T.note("unused_csv_log_dir", csv_unused.log_dir)
    trainer = quiet_trainer(
        max_epochs=1,
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=1,
        enable_checkpointing=False,
        logger=pl.loggers.CSVLogger("csv"),
    )
    torch.manual_seed(0)
    T.fit(trainer, Silent(), datamodule=DataModule())
