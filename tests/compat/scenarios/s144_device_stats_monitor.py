"""DeviceStatsMonitor: which hooks log, at which steps, under which keys (the accelerator's stats
are replaced by fixed numbers so that the trace is deterministic); its errors (no logger in fit,
a logger-less validate is fine)."""

from harness import T, pl
from models import DataModule, Net, caught, quiet_trainer


def fixed_stats(self, device):
    return {"mem": 1.0, "util": 2.0}


def main() -> None:
    DSM = pl.callbacks.DeviceStatsMonitor
    models = [Net() for _ in range(5)]  # made first: the loops draw from the RNG differently
    trainer = quiet_trainer(
        max_epochs=2,
        limit_train_batches=5,
        limit_val_batches=3,
        num_sanity_val_steps=1,
        log_every_n_steps=2,
        enable_progress_bar=False,
        enable_checkpointing=False,
        callbacks=[DSM(cpu_stats=True)],
        logger=pl.loggers.CSVLogger("logs"),
    )
    type(trainer.accelerator).get_device_stats = fixed_stats
    T.fit(trainer, models[0], datamodule=DataModule())
    T.test(trainer, models[1], datamodule=DataModule(), verbose=False)
    # CPU stats switched off on CPU: nothing is logged by the callback
    off = quiet_trainer(
        max_epochs=1, limit_train_batches=2, log_every_n_steps=1, enable_progress_bar=False,
        enable_checkpointing=False, callbacks=[DSM(cpu_stats=False)],
        logger=pl.loggers.CSVLogger("off"),
    )  # fmt: skip
    T.fit(off, models[2], datamodule=DataModule())
    no_logger = quiet_trainer(
        max_epochs=1, logger=False, enable_progress_bar=False, callbacks=[DSM()]
    )
    T.note("fit_without_logger", caught(lambda: no_logger.fit(models[3], datamodule=DataModule())))
    T.note(
        "validate_without_logger",
        caught(lambda: no_logger.validate(models[4], datamodule=DataModule(), verbose=False)),
    )
