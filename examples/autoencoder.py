"""An autoencoder on scikit-learn's handwritten digits: squeeze 64 pixels through 8 numbers and back.

Unsupervised: the batch is only the images, the loss is how far the reconstruction is from the
input. The module logs ``train_loss`` and ``val_loss``; ``trainer.predict`` returns the
reconstructions, compared at the end with the simplest baseline (always predict the mean image).

Run it (a few seconds on 2 CPU cores)::

    pip install "plkit[examples]"
    python examples/autoencoder.py                  # logs under ./lightning_logs/version_N
    python examples/autoencoder.py --root /tmp/ae   # or PLKIT_EXAMPLES_ROOT=/tmp/ae
    python examples/autoencoder.py --fast           # a smoke run (or PLKIT_EXAMPLES_FAST=1)
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl

__all__ = ["DigitsAutoencoder", "main"]

FULL_EPOCHS = 30
FAST_EPOCHS = 3


class DigitsAutoencoder(pl.LightningModule):
    """A fully connected encoder (64 → 32 → ``code_size``) and a mirrored decoder.

    Args:
        code_size: Numbers in the bottleneck.
        lr: Adam's learning rate.
    """

    def __init__(self, code_size: int = 8, lr: float = 3e-3) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.encoder = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, code_size))
        self.decoder = nn.Sequential(nn.Linear(code_size, 32), nn.ReLU(), nn.Linear(32, 64))

    def forward(self, images: Tensor) -> Tensor:
        return self.decoder(self.encoder(images))

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        (images,) = batch
        loss = F.mse_loss(self(images), images)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: list[Tensor], batch_idx: int) -> None:
        (images,) = batch
        self.log("val_loss", F.mse_loss(self(images), images), prog_bar=True)

    def predict_step(self, batch: list[Tensor], batch_idx: int, dataloader_idx: int = 0) -> Tensor:
        (images,) = batch
        return self(images)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def _datasets(seed: int) -> tuple[TensorDataset, TensorDataset]:
    """Flattened digits scaled to [0, 1], split 80/20 with a fixed seed."""
    images = torch.tensor(load_digits().data, dtype=torch.float32) / 16.0
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    n_val = len(order) // 5
    return TensorDataset(images[order[n_val:]]), TensorDataset(images[order[:n_val]])


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.environ.get("PLKIT_EXAMPLES_ROOT") or os.getcwd()
    parser.add_argument("--root", default=root, help="where lightning_logs/ goes")
    parser.add_argument("--fast", action="store_true", help="a few epochs, for CI")
    args = parser.parse_args(argv)
    # The env var lets CI make every example quick without knowing each one's flags.
    args.fast = args.fast or os.environ.get("PLKIT_EXAMPLES_FAST", "") not in ("", "0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Train, then compare the reconstructions of the validation images with a baseline."""
    args = _parse_args(argv)
    pl.seed_everything(0)
    train_set, val_set = _datasets(seed=0)
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=256)
    model = DigitsAutoencoder()
    trainer = pl.Trainer(
        max_epochs=FAST_EPOCHS if args.fast else FULL_EPOCHS,
        default_root_dir=args.root,
        log_every_n_steps=5,
    )
    trainer.fit(model, train_loader, val_loader)
    predictions = trainer.predict(model, val_loader)
    assert predictions is not None  # None only with return_predictions=False
    reconstructions = torch.cat(predictions)
    (val_images,) = val_set.tensors
    baseline = F.mse_loss(train_set.tensors[0].mean(0).expand_as(val_images), val_images)
    print(f"reconstruction error: {F.mse_loss(reconstructions, val_images).item():.4f}")
    print(f"mean-image baseline: {baseline.item():.4f}")
    print(f"TensorBoard logs: {trainer.logger.log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
