"""The finders as callbacks: LearningRateFinder(mode="linear") searches in on_fit_start, then
the same fit trains with the suggestion on the optimizer; BatchSizeFinder likewise (an injected
out-of-memory error above 20 samples), then the fit trains at the size found. Hooks (data hooks
and checkpoint hooks included), results, final weights."""

import uuid

import torch
from harness import RecordingCallback, T, pl, recorded
from models import Net, bare_trainer, loader, regression_data
from torch.utils.data import DataLoader

uuid.uuid4 = lambda: uuid.UUID(int=131)


class Model(Net):
    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__()
        self.save_hyperparameters()

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)

    def train_dataloader(self):  # type: ignore[no-untyped-def]
        return loader(n=128, batch_size=8, shuffle=False)

    def val_dataloader(self):  # type: ignore[no-untyped-def]
        return loader(n=32, batch_size=8, seed=1)

    def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        pass


class Sized(Net):
    def __init__(self, batch_size: int = 8) -> None:
        super().__init__()
        self.batch_size = batch_size

    def train_dataloader(self):  # type: ignore[no-untyped-def]
        return DataLoader(regression_data(96), batch_size=self.batch_size)

    def val_dataloader(self):  # type: ignore[no-untyped-def]
        return DataLoader(regression_data(32, seed=1), batch_size=self.batch_size)

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        if len(batch[0]) > 20:
            raise RuntimeError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return super().training_step(batch, batch_idx)


def main() -> None:
    pl.seed_everything(3)
    finder = pl.callbacks.LearningRateFinder(
        min_lr=1e-4, max_lr=0.5, num_training_steps=25, mode="linear"
    )
    model = recorded(Model, skip=("log",))()
    trainer = bare_trainer(max_epochs=2, callbacks=[finder, RecordingCallback()])
    T.fit(trainer, model)
    T.note("lr", finder.optimal_lr.results["lr"])
    T.note("loss", finder.optimal_lr.results["loss"])
    T.note("suggestion", finder.optimal_lr.suggestion())
    T.note("hparams_lr", model.hparams.learning_rate)
    T.note("optimizer_lr", trainer.optimizers[0].param_groups[0]["lr"])

    torch.manual_seed(0)
    sized = recorded(Sized, skip=("log",))()
    bsf = pl.callbacks.BatchSizeFinder(steps_per_trial=2)
    trainer = bare_trainer(max_epochs=1, callbacks=[bsf, RecordingCallback()], limit_val_batches=2)
    T.fit(trainer, sized)
    T.note("found", [bsf.optimal_batch_size, sized.batch_size, trainer.num_training_batches])
    T.final(sized)
