"""validate and test outside fit: what the loggers receive, the results, step values."""

from typing import Any

from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Eval(Net):
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        loss = self.loss(batch)
        self.log("val_loss", loss)
        self.log("val_step_loss", loss, on_step=True, on_epoch=True)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        loss = self.loss(batch)
        self.log("test_loss", loss, prog_bar=True)
        self.log("test_acc", 1.0 - loss, on_step=True)

    def on_test_epoch_end(self) -> None:
        self.log("test_epoch_value", 5.0)


def main() -> None:
    model = Eval()
    dm = DataModule()
    loggers = [pl.loggers.CSVLogger("."), pl.loggers.TensorBoardLogger(".")]
    trainer = quiet_trainer(max_epochs=1, logger=loggers, enable_progress_bar=False)
    T.validate(trainer, model, datamodule=dm)
    T.test(trainer, model, datamodule=dm)
    T.fit(trainer, model, datamodule=dm)
    T.test(trainer, model, datamodule=dm)
    T.final(model)
