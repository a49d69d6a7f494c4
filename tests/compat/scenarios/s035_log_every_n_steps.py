"""log_every_n_steps=3 with 5 batches, then max_steps stopping mid-epoch: which steps are written."""

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


def main() -> None:
    trainer = quiet_trainer(
        max_epochs=3,
        log_every_n_steps=3,
        enable_progress_bar=False,
        limit_train_batches=5,
        limit_val_batches=1,
        logger=pl.loggers.CSVLogger("."),
    )
    torch.manual_seed(1)
    T.fit(trainer, Net(), datamodule=DataModule(n=80))
    trainer = quiet_trainer(
        max_steps=4,
        log_every_n_steps=3,
        enable_progress_bar=False,
        limit_train_batches=3,
        limit_val_batches=1,
        logger=pl.loggers.CSVLogger(".", name="steps"),
    )
    torch.manual_seed(2)
    T.fit(trainer, Net(), datamodule=DataModule(n=80))
    trainer = quiet_trainer(
        max_epochs=1,
        log_every_n_steps=0,
        enable_progress_bar=False,
        limit_train_batches=3,
        limit_val_batches=1,
        logger=pl.loggers.CSVLogger(".", name="never"),
    )
    torch.manual_seed(3)
    T.fit(trainer, Net(), datamodule=DataModule(n=80))
