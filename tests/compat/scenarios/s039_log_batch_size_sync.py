"""Epoch means weighted by batch size (uneven last batch, batch_size=), sync_dist on one device."""

from typing import Any

from harness import T, pl
from models import Net, loader, quiet_trainer


class Weighted(Net):
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self.loss(batch)
        self.log("inferred", loss, on_step=False, on_epoch=True)
        self.log("given", loss, on_step=False, on_epoch=True, batch_size=batch_idx + 1)
        self.log("synced", loss, on_step=True, on_epoch=True, sync_dist=True)
        self.log("graph", loss, enable_graph=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_inferred", self.loss(batch))
        self.log("val_given", self.loss(batch), batch_size=1)

    def train_dataloader(self) -> Any:
        return loader(40, batch_size=16)

    def val_dataloader(self) -> Any:
        return loader(20, batch_size=16, seed=1)


def main() -> None:
    model = Weighted()
    trainer = quiet_trainer(
        max_epochs=2,
        enable_progress_bar=False,
        log_every_n_steps=1,
        logger=pl.loggers.CSVLogger("."),
    )
    T.fit(trainer, model)
    T.final(model)
