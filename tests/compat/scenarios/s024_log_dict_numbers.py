"""log_dict, Python ints and floats, int tensors, logger=False and prog_bar in the three views."""

from typing import Any

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Dicts(Net):
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self.loss(batch)
        self.log_dict({"a": loss, "b": 2, "c": 0.25}, prog_bar=True)
        self.log("hidden", loss, logger=False, prog_bar=True)
        self.log("count", torch.tensor(batch_idx), on_step=True, on_epoch=True, reduce_fx="sum")
        self.log("flag", True, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log_dict({"va": self.loss(batch), "vb": 4}, logger=False)
        self.log("vc", self.loss(batch), prog_bar=True)


def main() -> None:
    model = Dicts()
    trainer = quiet_trainer(
        max_epochs=1,
        log_every_n_steps=1,
        logger=pl.loggers.CSVLogger("."),
        enable_progress_bar=False,
        limit_train_batches=3,
        limit_val_batches=2,
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
