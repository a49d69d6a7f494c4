"""The seed document's ``PrintCallback``: code that runs at fixed points of training.

A callback holds code that is not part of the model (printing, timing, saving, stopping) and
hooks into the Trainer's loops by overriding ``Callback`` methods. The Trainer calls each hook
on every callback, in the order given, then on the module. Pass instances, not classes:
``Trainer(callbacks=[PrintCallback()])`` (the seed's ``trainer(callbacks=PrintCallBack)`` raises a
TypeError that says so).

Run it (a second or two)::

    python examples/print_callback.py                # logs under ./lightning_logs/version_N
    python examples/print_callback.py --root /tmp/cb  # or PLKIT_EXAMPLES_ROOT=/tmp/cb
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import Callback

__all__ = ["EpochPrintCallback", "PrintCallback", "main"]


class PrintCallback(Callback):
    """Prints when training starts and ends (the seed document's example, unchanged)."""

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        print("Training is started!")

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        print("Training is done.")


class EpochPrintCallback(Callback):
    """Prints the epoch's mean training loss, read from ``trainer.callback_metrics``."""

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        loss = trainer.callback_metrics["train_loss"]
        print(f"epoch {trainer.current_epoch}: train_loss {loss.item():.4f}")


class Regressor(pl.LightningModule):
    """A linear model for the callbacks to watch."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 1)

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.environ.get("PLKIT_EXAMPLES_ROOT") or os.getcwd()
    parser.add_argument("--root", default=root, help="where lightning_logs/ goes")
    parser.add_argument("--fast", action="store_true", help="accepted for uniformity; it is fast")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Train for three epochs with both callbacks."""
    args = _parse_args(argv)
    pl.seed_everything(0)
    x = torch.randn(128, 4)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=32)
    trainer = pl.Trainer(
        max_epochs=3,
        default_root_dir=args.root,
        callbacks=[PrintCallback(), EpochPrintCallback()],
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Regressor(), loader)
    return 0


if __name__ == "__main__":
    sys.exit(main())
