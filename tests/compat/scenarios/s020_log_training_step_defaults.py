"""self.log in training_step with default options: step rows every log_every_n_steps, CSV and TB."""

from harness import T, pl
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    loggers = [pl.loggers.TensorBoardLogger("."), pl.loggers.CSVLogger(".")]
    trainer = quiet_trainer(
        max_epochs=2,
        log_every_n_steps=2,
        logger=loggers,
        enable_progress_bar=False,
        limit_val_batches=1,
    )
    T.fit(trainer, model, datamodule=DataModule(n=80))
    T.note("log_dir", trainer.log_dir)
    T.final(model)
