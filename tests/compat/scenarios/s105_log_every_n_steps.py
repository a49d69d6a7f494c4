"""log_every_n_steps=2 and 1 with a CSVLogger: the steps at which step metrics reach the logger."""

from harness import T, pl
from models import DataModule, Net, bare_trainer


def main() -> None:
    model = Net()
    for n in (2, 1):
        logger = pl.loggers.CSVLogger("logs", name=f"every_{n}")
        trainer = bare_trainer(
            max_epochs=2,
            log_every_n_steps=n,
            logger=logger,
            limit_train_batches=3,
            limit_val_batches=1,
        )
        T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
