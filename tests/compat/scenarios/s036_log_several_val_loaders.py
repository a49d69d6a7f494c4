"""Logging with two validation loaders: /dataloader_idx_N keys, add_dataloader_idx=False, results."""

from typing import Any

from harness import T, pl
from models import Net, loader, quiet_trainer


class Two(Net):
    def validation_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        loss = self.loss(batch)
        self.log("val_loss", loss)
        self.log("val_step", loss, on_step=True, on_epoch=False)
        self.log(f"own_{dataloader_idx}", loss, add_dataloader_idx=False)

    def on_validation_epoch_end(self) -> None:
        self.log("val_end", 1.0)

    def train_dataloader(self) -> Any:
        return loader(32)

    def val_dataloader(self) -> Any:
        return [loader(32, seed=1), loader(16, seed=2, batch_size=8)]


def main() -> None:
    model = Two()
    trainer = quiet_trainer(
        max_epochs=1, enable_progress_bar=False, logger=pl.loggers.CSVLogger(".")
    )
    T.fit(trainer, model)
    T.validate(trainer, model)
