"""The order of the checks fit / validate / test / predict make before they run: the step methods
before the checkpoint file is read, ``ckpt_path="best"`` before the step methods, and after a
fit a call without a model falls back to "best" (errors, lines printed, state after each).
Few entry points, so that they compare one by one (see s169 for the ckpt_path errors)."""

from typing import Any

import torch
from harness import T, pl
from torch.utils.data import DataLoader


def data() -> DataLoader:
    return DataLoader(torch.randn(4, 2), batch_size=2)


class Model(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch).sum()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val", self.layer(batch).sum())

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test", self.layer(batch).sum())

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self) -> Any:
        return data()

    def val_dataloader(self) -> Any:
        return data()

    def test_dataloader(self) -> Any:
        return data()


class NoTrainingStep(Model):
    training_step = pl.LightningModule.training_step


def trainer() -> Any:
    return pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )


def attempt(name: str, trainer: Any, fn: str, *args: Any, **kwargs: Any) -> None:
    """Run ``trainer.<fn>`` (recorded as an entry point); note what it raised, and its message."""
    try:
        getattr(T, fn)(trainer, *args, **kwargs)
    except Exception as exc:
        T.note(name, [type(exc).__name__, str(exc)])
    else:
        T.note(name, None)


def main() -> None:
    torch.manual_seed(0)
    # the step methods are checked before the checkpoint is read
    attempt("fit_no_step_missing_file", trainer(), "fit", NoTrainingStep(), ckpt_path="x.ckpt")
    # ... and "best" before the step methods
    attempt("test_no_step_best", trainer(), "test", NoTrainingStep(), ckpt_path="best")
    # after a fit (its sanity check leaves the RNG alone, val_dataloader included), a call
    # without a model falls back to "best"
    fitted = trainer()
    T.fit(fitted, Model())
    attempt("validate_after_fit_no_model", fitted, "validate")
