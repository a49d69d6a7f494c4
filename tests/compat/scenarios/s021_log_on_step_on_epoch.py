"""on_step=True and on_epoch=True together: _step / _epoch keys in training and validation."""

from typing import Any

from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Both(Net):
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self.loss(batch)
        self.log("loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        self.log("only_epoch", loss * 2, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        loss = self.loss(batch)
        self.log("vloss", loss, on_step=True, on_epoch=True, prog_bar=True)
        self.log("vstep_only", loss + 1, on_step=True, on_epoch=False)


def main() -> None:
    model = Both()
    trainer = quiet_trainer(
        max_epochs=2,
        log_every_n_steps=1,
        logger=pl.loggers.CSVLogger("."),
        enable_progress_bar=False,
        limit_train_batches=3,
        limit_val_batches=2,
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
