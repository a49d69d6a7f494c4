"""strategy="ddp", devices=2 on CPU: fit, validate and test results and metrics on each rank
(values logged with sync_dist=True are averaged), checkpoint files written once, final weights."""

from typing import Any

import torch
from harness import T
from models import DataModule, Net, quiet_trainer


class Synced(Net):
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self.loss(batch), sync_dist=True)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test_loss", self.loss(batch), sync_dist=True)
        self.log("rank_seen", torch.tensor(float(self.global_rank)))


def main() -> None:
    model = Synced()
    trainer = quiet_trainer(
        accelerator="cpu",
        strategy="ddp",
        devices=2,
        max_epochs=2,
        logger=False,
        enable_progress_bar=False,
    )
    dm = DataModule()
    T.fit(trainer, model, datamodule=dm)
    T.validate(trainer, model, datamodule=dm)
    T.test(trainer, model, datamodule=dm)
    T.final(model)
