"""Several loggers at once: each receives the same calls; log_dir follows the first logger."""

from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


class HP(Net):
    def __init__(self, lr: float = 0.05, depth: int = 2) -> None:
        super().__init__(lr)
        self.save_hyperparameters()


def main() -> None:
    loggers = [
        pl.loggers.CSVLogger("logs", name="a"),
        pl.loggers.TensorBoardLogger("logs", name="b", version=7),
        pl.loggers.CSVLogger("logs", name="c", version="v"),
    ]
    trainer = quiet_trainer(
        max_epochs=2,
        log_every_n_steps=2,
        logger=loggers,
        enable_progress_bar=False,
        limit_val_batches=1,
    )
    T.fit(trainer, HP(), datamodule=DataModule())
    T.note("logger", type(trainer.logger).__name__)
    T.note("log_dirs", [rel(lg.log_dir) for lg in trainer.loggers])
