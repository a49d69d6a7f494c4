"""The training bar during fit with validation: its total (training batches), its description
per epoch and its postfix: ``v_num`` of a string logger version, metrics logged with
``prog_bar=True`` (floats of several magnitudes, an int, a step/epoch pair)."""

import torch
from harness import T, imp
from models import DataModule, Net, quiet_trainer


class Shown(Net):
    def training_step(self, batch, batch_idx):
        loss = self.loss(batch)
        self.log("loss", loss, prog_bar=True, on_step=True, on_epoch=True)
        self.log("big", loss * 123456.0, prog_bar=True)
        self.log("tiny", loss * 1e-5, prog_bar=True)
        self.log("count", batch_idx, prog_bar=True)
        self.log("exact", torch.tensor(2.0), prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self.loss(batch), prog_bar=True)


def main() -> None:
    model = Shown()
    logger = imp("loggers").CSVLogger(".", name="logs", version="run_abcdef")
    trainer = quiet_trainer(max_epochs=2, limit_train_batches=3, limit_val_batches=2, logger=logger)
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
