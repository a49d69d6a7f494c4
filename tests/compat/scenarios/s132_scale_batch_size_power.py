"""Tuner.scale_batch_size(mode="power") with an injected out-of-memory error above 24 samples
(a RuntimeError with CUDA's message): the sizes tried, the size found on the datamodule, the
messages, the state restored and the temporary checkpoint removed; then method="test"."""

import os
import uuid

import torch
from harness import T, imp
from models import DataModule, Net, bare_trainer

uuid.uuid4 = lambda: uuid.UUID(int=132)

TRIED: list = []


class Model(Net):
    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        TRIED.append(len(batch[0]))
        if len(batch[0]) > 24:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().training_step(batch, batch_idx)

    def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        TRIED.append(-len(batch[0]))

    def test_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        TRIED.append(("test", len(batch[0])))
        if len(batch[0]) > 24:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")


def main() -> None:
    torch.manual_seed(0)
    model = Model()
    dm = DataModule(batch_size=16, n=256)
    trainer = bare_trainer(max_epochs=1, limit_val_batches=2)
    found = imp("tuner").Tuner(trainer).scale_batch_size(model, datamodule=dm, steps_per_trial=2)
    T.note("found", found)
    T.note("dm_batch_size", dm.batch_size)
    T.note("tried", TRIED)
    T.note("after", {"global_step": trainer.global_step, "epoch": trainer.current_epoch})
    T.note("files", sorted(os.listdir(trainer.default_root_dir)))
    TRIED.clear()
    dm = DataModule(batch_size=16, n=256)
    tested = imp("tuner").Tuner(trainer).scale_batch_size(model, datamodule=dm, method="test")
    T.note("test_found", [tested, dm.batch_size, TRIED])
    T.final(model)
