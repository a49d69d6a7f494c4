"""TensorBoardLogger folders: versions counting up across runs, name / version / sub_dir."""

import torch
from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


def describe(key: str, logger: object) -> None:
    T.note(
        key,
        {
            "name": logger.name,
            "version": logger.version,
            "save_dir": rel(logger.save_dir),
            "log_dir": rel(logger.log_dir),
            "root_dir": rel(logger.root_dir),
            "sub_dir": getattr(logger, "sub_dir", None),
        },
    )


def main() -> None:
    for run in range(2):
        trainer = quiet_trainer(
            max_epochs=1, enable_progress_bar=False, limit_train_batches=1, limit_val_batches=1
        )
        torch.manual_seed(run)
        T.fit(trainer, Net(), datamodule=DataModule())
        describe(f"default_{run}", trainer.logger)
    custom = [
        pl.loggers.TensorBoardLogger("tb", name="exp", version=3),
        pl.loggers.TensorBoardLogger("tb", name="exp"),
        pl.loggers.TensorBoardLogger("tb", name="exp", version="named", sub_dir="sub"),
        pl.loggers.TensorBoardLogger("tb", name=""),
        pl.loggers.TensorBoardLogger("tb", name=None, version=1),
    ]
    for i, logger in enumerate(custom):
        trainer = quiet_trainer(
            max_epochs=1,
            enable_progress_bar=False,
            limit_train_batches=1,
            limit_val_batches=1,
            logger=logger,
        )
        torch.manual_seed(10 + i)
        T.fit(trainer, Net(), datamodule=DataModule())
        describe(f"custom_{i}", logger)
