"""Validation data without validation_step in fit; validate / test / predict on a module without the step."""

from typing import Any

import torch
from harness import T, pl
from models import loader, quiet_trainer


class TrainOnly(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def attempt(name: str, fn: Any, *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        T.note(name, type(exc).__name__)


def main() -> None:
    model = TrainOnly()
    trainer = quiet_trainer(max_epochs=1, logger=False, enable_checkpointing=False)
    attempt("fit", T.fit, trainer, model, loader(32), loader(32, seed=1))
    attempt("validate", T.validate, trainer, model, loader(32))
    attempt("test", T.test, trainer, model, loader(32))
    attempt("predict", T.predict, trainer, model, loader(32))
    T.final(model)
