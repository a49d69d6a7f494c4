"""A LightningModule trained by a loop of your own, with ``plcore`` alone: no Trainer at all.

``plcore`` holds ``LightningModule``, ``LightningDataModule`` and the checkpoint format, on torch
and numpy only (``pip install plcore``). The module and the data module are the same classes a
Trainer would run; here a dozen lines of plain PyTorch call their hooks instead:
``prepare_data`` / ``setup`` / ``train_dataloader``, ``configure_optimizers``,
``training_step`` and ``validation_step``. The checkpoint is written with
``plcore.checkpoint.atomic_save`` in Lightning's layout, so ``Model.load_from_checkpoint`` (in
plcore, plkit or Lightning itself) rebuilds the model from it.

This file imports nothing from ``plkit``, ``pllog`` or ``placcel``, and does not call
``self.log`` (without a Trainer it warns and does nothing; count metrics yourself instead).

Run it (a second or two)::

    python examples/custom_loop.py                 # writes ./custom_loop.ckpt
    python examples/custom_loop.py --root /tmp/cl  # or PLKIT_EXAMPLES_ROOT=/tmp/cl
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from plcore import LightningDataModule, LightningModule, seed_everything
from plcore.checkpoint import atomic_save, safe_load

__all__ = ["LinearData", "Regressor", "main", "train"]

FULL_EPOCHS = 20
FAST_EPOCHS = 3


class Regressor(LightningModule):
    """A two-layer regressor.

    Args:
        hidden: Width of the hidden layer.
        lr: Adam's learning rate.
    """

    def __init__(self, hidden: int = 32, lr: float = 1e-2) -> None:
        super().__init__()
        self.save_hyperparameters()  # stored in the checkpoint, read by load_from_checkpoint
        self.net = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        return nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        return nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


class LinearData(LightningDataModule):
    """y = a fixed random linear function of 8 inputs plus noise, split 80/20.

    Args:
        batch_size: Samples per training batch.
    """

    def __init__(self, batch_size: int = 32) -> None:
        super().__init__()
        self.batch_size = batch_size

    def setup(self, stage: str) -> None:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(1000, 8, generator=g)
        y = x @ torch.randn(8, 1, generator=g) + 0.1 * torch.randn(1000, 1, generator=g)
        self.train_set = TensorDataset(x[:800], y[:800])
        self.val_set = TensorDataset(x[800:], y[800:])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=200)


def evaluate(model: Regressor, loader: DataLoader) -> float:
    """The mean of ``validation_step`` over ``loader`` (batches weighted by size)."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch_idx, batch in enumerate(loader):
            total += model.validation_step(batch, batch_idx).item() * len(batch[0])
            count += len(batch[0])
    model.train()
    return total / count


def train(model: Regressor, data: LinearData, epochs: int) -> tuple[torch.optim.Optimizer, int]:
    """The loop a Trainer would run, reduced to its core. Returns the optimizer and step count."""
    data.prepare_data()
    data.setup("fit")
    optimizer = model.configure_optimizers()
    step = 0
    for epoch in range(epochs):
        for batch_idx, batch in enumerate(data.train_dataloader()):
            loss = model.training_step(batch, batch_idx)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        print(f"epoch {epoch}: val_loss {evaluate(model, data.val_dataloader()):.4f}")
    return optimizer, step


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.environ.get("PLKIT_EXAMPLES_ROOT") or os.getcwd()
    parser.add_argument("--root", default=root, help="where custom_loop.ckpt goes")
    parser.add_argument("--fast", action="store_true", help="a few epochs, for CI")
    args = parser.parse_args(argv)
    # The env var lets CI make every example quick without knowing each one's flags.
    args.fast = args.fast or os.environ.get("PLKIT_EXAMPLES_FAST", "") not in ("", "0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Train, save a Lightning-layout checkpoint, load it back and check the predictions."""
    args = _parse_args(argv)
    seed_everything(0, verbose=False)
    model, data = Regressor(), LinearData()
    epochs = FAST_EPOCHS if args.fast else FULL_EPOCHS
    optimizer, step = train(model, data, epochs)
    path = Path(args.root) / "custom_loop.ckpt"
    atomic_save(
        {
            "epoch": epochs - 1,
            "global_step": step,
            "pytorch-lightning_version": "2.6.6",  # the layout version Lightning's tools check
            "state_dict": model.state_dict(),
            "optimizer_states": [optimizer.state_dict()],
            "hyper_parameters": dict(model.hparams),
        },
        path,
    )
    restored = Regressor.load_from_checkpoint(path)  # safe: weights_only loading
    x = data.val_set.tensors[0]
    same = torch.equal(model.eval()(x), restored.eval()(x))
    print(f"checkpoint: {path}")
    print(f"saved keys: {sorted(safe_load(path))}")
    print(f"restored hparams: {dict(restored.hparams)}")
    print(f"restored model predicts the same: {same}")
    siblings = sorted(name for name in ("plkit", "pllog", "placcel") if name in sys.modules)
    print(f"loaded from plkit, pllog, placcel: {siblings or 'nothing'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
