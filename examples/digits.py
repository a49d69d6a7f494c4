"""Train a small CNN on scikit-learn's handwritten digits: plkit's main job.

The data (1,797 8x8 images, bundled with scikit-learn, no download) comes from a
LightningDataModule; a LightningModule holds the network, the steps and the optimizer; the
Trainer runs the loop, writes TensorBoard event files and a checkpoint. It is a plain Lightning
2.x script: swap ``import plkit as pl`` for ``import lightning.pytorch as pl`` and it runs there.

Run it (about 10 s on 2 idle CPU cores; at least 95 % validation accuracy, or it exits with 1)::

    pip install "plkit[examples]"
    python examples/digits.py                  # logs under ./lightning_logs/version_N
    python examples/digits.py --root /tmp/run  # or PLKIT_EXAMPLES_ROOT=/tmp/run: logs go there
    python examples/digits.py --fast           # a few-second smoke run (or PLKIT_EXAMPLES_FAST=1)
    tensorboard --logdir lightning_logs        # look at the curves
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl

__all__ = ["DigitsClassifier", "DigitsDataModule", "main"]

TARGET_ACCURACY = 0.95
FULL_EPOCHS = 10
FAST_EPOCHS = 3


class DigitsDataModule(pl.LightningDataModule):
    """scikit-learn's digits as normalised 1x8x8 tensors, split with a fixed seed.

    A fifth of the images is held out as the test set; the rest is split 80/20 into train and
    validation. Pixels are scaled by the mean and standard deviation of the training split.

    Args:
        batch_size: Images per batch.
        seed: Seed of the split, so every run and every process sees the same one.
    """

    def __init__(self, batch_size: int = 64, seed: int = 0) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}: write a positive number, e.g. 64")
        self.batch_size = batch_size
        self.seed = seed
        self.splits: dict[str, TensorDataset] = {}

    def prepare_data(self) -> None:
        # Lightning calls this once per machine; the data ships with scikit-learn, so this
        # only checks that it loads. A dataset that downloads would fetch its files here.
        load_digits()

    def setup(self, stage: str) -> None:
        if self.splits:  # fit, validate and test share one split
            return
        digits = load_digits()
        images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1)
        labels = torch.tensor(digits.target, dtype=torch.long)
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(self.seed))
        n_test = len(order) // 5
        n_val = (len(order) - n_test) // 5
        parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val]}
        parts["train"] = order[n_test + n_val :]
        train_images = images[parts["train"]]
        images = (images - train_images.mean()) / train_images.std()
        self.splits = {name: TensorDataset(images[i], labels[i]) for name, i in parts.items()}

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.splits["train"], batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.splits["val"], batch_size=256)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.splits["test"], batch_size=256)


class DigitsClassifier(pl.LightningModule):
    """Two 3x3 convolutions, a 2x2 max-pool and a linear layer over ten classes.

    Args:
        lr: Adam's learning rate.
        channels: Channels of the first convolution (the second has twice as many).
        dropout: Dropout before the last layer.
    """

    def __init__(self, lr: float = 2e-3, channels: int = 32, dropout: float = 0.25) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(2 * channels * 4 * 4, 10),
        )

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)

    def _loss_and_accuracy(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        images, labels = batch
        logits = self(images)
        accuracy = (logits.argmax(dim=1) == labels).float().mean()
        return F.cross_entropy(logits, labels), accuracy

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        loss, _ = self._loss_and_accuracy(batch)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        loss, accuracy = self._loss_and_accuracy(batch)
        self.log("val_loss", loss, prog_bar=True)
        self.log("val_acc", accuracy, prog_bar=True)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        loss, accuracy = self._loss_and_accuracy(batch)
        self.log("test_loss", loss)
        self.log("test_acc", accuracy)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def plot_curves(log_dir: str) -> Path | None:
    """Draw train/val loss and val accuracy from the run's event files into ``curves.png``.

    Reads back what the run logged (TensorBoard event files), so the picture shows the logged
    metrics, not a copy kept on the side. Returns the PNG's path, or None without matplotlib.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        print("curves: skipped, matplotlib is not installed (pip install matplotlib)")
        return None
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(log_dir)
    events.Reload()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for tag, ax in (("train_loss", loss_ax), ("val_loss", loss_ax), ("val_acc", acc_ax)):
        if tag in events.Tags()["scalars"]:
            points = events.Scalars(tag)
            ax.plot([p.step for p in points], [p.value for p in points], label=tag)
    for ax, title in ((loss_ax, "loss"), (acc_ax, "validation accuracy")):
        ax.set(title=title, xlabel="step")
        ax.legend()
    path = Path(log_dir) / "curves.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.environ.get("PLKIT_EXAMPLES_ROOT") or os.getcwd()
    parser.add_argument("--root", default=root, help="where lightning_logs/ goes")
    parser.add_argument("--fast", action="store_true", help="a few epochs, for CI")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the weights")
    args = parser.parse_args(argv)
    # The env var lets CI make every example quick without knowing each one's flags.
    args.fast = args.fast or os.environ.get("PLKIT_EXAMPLES_FAST", "") not in ("", "0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Train, validate and test; print the results and where the files went.

    Returns:
        The exit status: 1 when a full run misses the target accuracy.
    """
    args = _parse_args(argv)
    pl.seed_everything(args.seed)
    datamodule = DigitsDataModule(seed=args.seed)
    model = DigitsClassifier()
    trainer = pl.Trainer(
        max_epochs=FAST_EPOCHS if args.fast else FULL_EPOCHS,
        default_root_dir=args.root,
        log_every_n_steps=5,
    )
    trainer.fit(model, datamodule=datamodule)
    val_acc = trainer.validate(model, datamodule=datamodule, verbose=False)[0]["val_acc"]
    test_acc = trainer.test(model, datamodule=datamodule, verbose=False)[0]["test_acc"]
    print(f"final validation accuracy: {val_acc:.4f}")
    print(f"test accuracy: {test_acc:.4f}")
    print(f"TensorBoard logs: {trainer.logger.log_dir}")
    checkpoint = trainer.checkpoint_callback
    assert checkpoint is not None  # the Trainer adds one unless enable_checkpointing=False
    print(f"checkpoint: {checkpoint.best_model_path}")
    curves = plot_curves(trainer.logger.log_dir)
    if curves is not None:
        print(f"curves: {curves}")
    if not args.fast and val_acc < TARGET_ACCURACY:
        print(f"validation accuracy {val_acc:.4f} is below the target {TARGET_ACCURACY}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
