"""Batch-transfer hooks and loaders overridden in both the module and the datamodule: warnings, which runs."""

from typing import Any

from harness import T, recorded
from models import DataModule, Net, loader, quiet_trainer


class ModelWithHooks(Net):
    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        T.hook("model_own", "on_before_batch_transfer")
        return batch

    def transfer_batch_to_device(self, batch: Any, device: Any, dataloader_idx: int) -> Any:
        T.hook("model_own", "transfer_batch_to_device")
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        T.hook("model_own", "on_after_batch_transfer")
        return batch

    def train_dataloader(self) -> Any:
        T.hook("model_own", "train_dataloader")
        return loader(64)

    def val_dataloader(self) -> Any:
        T.hook("model_own", "val_dataloader")
        return loader(32, seed=1)

    def test_dataloader(self) -> Any:
        T.hook("model_own", "test_dataloader")
        return loader(32, seed=1)

    def predict_dataloader(self) -> Any:
        T.hook("model_own", "predict_dataloader")
        return loader(32, seed=1)


class DMWithHooks(DataModule):
    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        T.hook("dm_own", "on_before_batch_transfer")
        return batch

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        T.hook("dm_own", "on_after_batch_transfer")
        return batch


def main() -> None:
    model = recorded(ModelWithHooks)()
    dm = recorded(DMWithHooks, label="dm")()
    trainer = quiet_trainer(
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=1,
        limit_test_batches=1,
        limit_predict_batches=1,
        num_sanity_val_steps=0,
    )
    T.fit(trainer, model, datamodule=dm)
    T.validate(trainer, model, datamodule=dm)
    T.test(trainer, model, datamodule=dm)
    T.predict(trainer, model, datamodule=dm)
    # without the datamodule the module's own loaders and hooks run
    T.validate(trainer, model)
