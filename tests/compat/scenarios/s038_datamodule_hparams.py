"""save_hyperparameters in the datamodule too: merged log_hyperparams, hparams.yaml, checkpoint."""

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class HPModel(Net):
    def __init__(self, lr: float = 0.1, shared: str = "model") -> None:
        super().__init__(lr)
        self.save_hyperparameters()


class HPData(DataModule):
    def __init__(self, batch_size: int = 16, n: int = 64, shared: str = "data") -> None:
        super().__init__(batch_size, n)
        self.save_hyperparameters()


class HPDataOther(DataModule):
    def __init__(self, batch_size: int = 16, n: int = 64, lr: float = 0.1) -> None:
        super().__init__(batch_size, n)
        self.save_hyperparameters()


def main() -> None:
    dm = HPData(batch_size=8)
    T.note("dm_hparams", dict(dm.hparams))
    logger = pl.loggers.CSVLogger(".")
    trainer = quiet_trainer(
        max_epochs=1,
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=1,
        logger=logger,
    )
    try:
        T.fit(trainer, HPModel(), datamodule=dm)
    except Exception as exc:  # Lightning refuses a key with different values in both
        T.note("conflict", type(exc).__name__)
    logger = pl.loggers.CSVLogger(".", name="ok")
    trainer = quiet_trainer(
        max_epochs=1,
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=1,
        logger=logger,
    )
    torch.manual_seed(0)
    T.fit(trainer, HPModel(), datamodule=HPDataOther())
    loaded = HPData.load_from_checkpoint(trainer.checkpoint_callback.best_model_path)
    T.note("loaded_dm", dict(loaded.hparams))
