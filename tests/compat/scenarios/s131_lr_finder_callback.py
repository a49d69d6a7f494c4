"""LearningRateFinder(mode="linear") as a callback: the search in on_fit_start, then the same
fit trains with the suggestion on the optimizer (hooks, results, final weights)."""

import uuid

from harness import RecordingCallback, T, pl, recorded
from models import Net, bare_trainer, loader

uuid.uuid4 = lambda: uuid.UUID(int=131)


class Model(Net):
    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__()
        self.save_hyperparameters()

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        import torch

        return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)

    def train_dataloader(self):  # type: ignore[no-untyped-def]
        return loader(n=128, batch_size=8, shuffle=False)

    def val_dataloader(self):  # type: ignore[no-untyped-def]
        return loader(n=32, batch_size=8, seed=1)

    def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        pass


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
    T.final(model)
