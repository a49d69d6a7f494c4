"""Loaders defined on the module: when fit / validate / test / predict ask for them, and how often."""

from typing import Any

from harness import RecordingCallback, T, recorded
from models import Net, loader, quiet_trainer


class WithLoaders(Net):
    def train_dataloader(self) -> Any:
        return loader(32)

    def val_dataloader(self) -> Any:
        return loader(32, seed=1)

    def test_dataloader(self) -> Any:
        return loader(32, seed=2)

    def predict_dataloader(self) -> Any:
        return loader(32, seed=3)


def main() -> None:
    model = recorded(WithLoaders)()
    trainer = quiet_trainer(
        callbacks=[RecordingCallback()],
        max_epochs=2,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
    )
    T.fit(trainer, model)
    T.hook("scenario", "reload")
    trainer = quiet_trainer(
        callbacks=[RecordingCallback()],
        max_epochs=3,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        reload_dataloaders_every_n_epochs=1,
    )
    T.fit(trainer, model)
    T.hook("scenario", "no_val")
    trainer = quiet_trainer(max_epochs=1, limit_val_batches=0, logger=False)
    T.fit(trainer, model)
    T.validate(trainer, model)
    T.test(trainer, model)
    T.predict(trainer, model)
