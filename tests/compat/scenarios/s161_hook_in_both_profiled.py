"""Batch-transfer hooks overridden in both the module and the datamodule, with a profiler: the
same warnings as without one, and the datamodule's hooks run."""

from typing import Any

from harness import T, imp, recorded
from models import DataModule, Net, quiet_trainer


class ModelWithHooks(Net):
    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        T.hook("model_own", "on_before_batch_transfer")
        return batch

    def transfer_batch_to_device(self, batch: Any, device: Any, dataloader_idx: int) -> Any:
        T.hook("model_own", "transfer_batch_to_device")
        return super().transfer_batch_to_device(batch, device, dataloader_idx)


class DMWithHooks(DataModule):
    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        T.hook("dm_own", "on_before_batch_transfer")
        return batch

    def transfer_batch_to_device(self, batch: Any, device: Any, dataloader_idx: int) -> Any:
        T.hook("dm_own", "transfer_batch_to_device")
        return batch.to(device) if hasattr(batch, "to") else [b.to(device) for b in batch]


def main() -> None:
    profilers = imp("profilers")
    model = recorded(ModelWithHooks)()
    dm = recorded(DMWithHooks, label="dm")()
    trainer = quiet_trainer(
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=1,
        num_sanity_val_steps=0,
        profiler=profilers.SimpleProfiler(dirpath="reports", filename="perf"),
    )
    T.fit(trainer, model, datamodule=dm)
    T.validate(trainer, model, datamodule=dm)
