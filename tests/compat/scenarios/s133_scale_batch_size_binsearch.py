"""Tuner.scale_batch_size(mode="binsearch") on model.hparams.batch_size with
torch.cuda.OutOfMemoryError raised above 37 samples: the bisection, the margin, the value set;
then a BatchSizeFinder in trainer.test, whose test goes on at the size found."""

import uuid

import torch
from harness import T, imp, pl
from models import Net, bare_trainer, regression_data
from torch.utils.data import DataLoader

uuid.uuid4 = lambda: uuid.UUID(int=133)

TRIED: list = []


class Model(Net):
    def __init__(self, batch_size: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()

    def train_dataloader(self):  # type: ignore[no-untyped-def]
        return DataLoader(regression_data(512), batch_size=self.hparams.batch_size)

    def val_dataloader(self):  # type: ignore[no-untyped-def]
        return DataLoader(regression_data(64, seed=1), batch_size=self.hparams.batch_size)

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        TRIED.append(len(batch[0]))
        if len(batch[0]) > 37:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return super().training_step(batch, batch_idx)

    def test_dataloader(self):  # type: ignore[no-untyped-def]
        return DataLoader(regression_data(128, seed=2), batch_size=self.hparams.batch_size)

    def test_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        TRIED.append(("test", len(batch[0])))
        if len(batch[0]) > 37:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return super().test_step(batch, batch_idx)


def main() -> None:
    torch.manual_seed(0)
    model = Model()
    trainer = bare_trainer(max_epochs=1)
    found = imp("tuner").Tuner(trainer).scale_batch_size(model, mode="binsearch", init_val=4)
    T.note("found", found)
    T.note("hparams", model.hparams.batch_size)
    T.note("tried", TRIED)
    TRIED.clear()
    finder = pl.callbacks.BatchSizeFinder(mode="binsearch", margin=0.1)
    T.test(bare_trainer(callbacks=[finder], limit_test_batches=1), model)
    T.note("test", [finder.optimal_batch_size, model.hparams.batch_size, TRIED])
    T.final(model)
