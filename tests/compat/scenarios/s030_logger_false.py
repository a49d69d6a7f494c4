"""logger=False: no logger, no log folder; the metric views still fill; log_dir."""

from harness import T
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    trainer = quiet_trainer(
        max_epochs=2, logger=False, enable_progress_bar=False, limit_val_batches=1
    )
    T.note("logger_before", trainer.logger)
    T.fit(trainer, model, datamodule=DataModule())
    T.note("loggers", trainer.loggers)
    T.validate(trainer, model, datamodule=DataModule())
    T.final(model)
