"""Resume an interrupted run from ``last.ckpt`` and end exactly where an uninterrupted run ends.

Three fits of the same model on the same shuffled data, with dropout (so every random number
matters):

1. a reference run, three epochs straight through;
2. the same run, interrupted at step 11, in the middle of the second epoch (a callback raises
   ``KeyboardInterrupt``, as Ctrl-C would: the Trainer shuts down and ends the script with
   ``SystemExit(1)``, which this example catches to go on); ``ModelCheckpoint(every_n_train_steps=5,
   save_last=True)`` wrote ``last.ckpt`` at step 10;
3. a new process would do this part: a fresh model and Trainer, ``fit(..., ckpt_path="last")``.

The resumed run starts at step 10, finishes at the reference's step count, and its weights are
bit-for-bit the reference's: plkit restores the position inside the epoch, replays the epoch's
shuffle (skipping the batches already seen without loading them) and restores the RNG states.

Run it (a few seconds)::

    python examples/resume.py                    # files under ./resume_demo/
    python examples/resume.py --root /tmp/resume # or PLKIT_EXAMPLES_ROOT=/tmp/resume

Each run starts by deleting the ``resume_demo`` folder a previous run left, so that its
``last.ckpt`` is the one this run writes (a second run would otherwise write ``last-v1.ckpt``
next to it, as Lightning does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import Callback, ModelCheckpoint

__all__ = ["InterruptAt", "Regressor", "main"]

MAX_EPOCHS = 3
STOP_AT_STEP = 11


class Regressor(pl.LightningModule):
    """A small network with dropout, so that the RNG state decides the result too."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)


class InterruptAt(Callback):
    """Stops training like Ctrl-C once ``global_step`` reaches ``step``.

    Args:
        step: The optimizer step after which to interrupt.
    """

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
        if trainer.global_step == self.step:
            raise KeyboardInterrupt  # the Trainer shuts down and raises SystemExit(1)


class ReportStart(Callback):
    """Prints the step training starts from."""

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        print(f"resumed at step: {trainer.global_step} (epoch {trainer.current_epoch})")


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 4, generator=g)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8, shuffle=True)


def _trainer(root: Path, *callbacks: Callback) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=MAX_EPOCHS,
        default_root_dir=root,
        callbacks=list(callbacks),
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def _checkpointing(root: Path) -> ModelCheckpoint:
    # A fixed folder: every run of this script reads and writes the same last.ckpt.
    return ModelCheckpoint(dirpath=root / "checkpoints", every_n_train_steps=5, save_last=True)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.environ.get("PLKIT_EXAMPLES_ROOT") or os.getcwd()
    parser.add_argument("--root", default=root, help="resume_demo/ goes in this folder")
    parser.add_argument("--fast", action="store_true", help="accepted for uniformity; it is fast")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the three fits and compare the resumed weights with the reference."""
    root = Path(_parse_args(argv).root) / "resume_demo"
    shutil.rmtree(root, ignore_errors=True)  # only this script's own output folder
    pl.seed_everything(0)
    reference = Regressor()
    _trainer(root / "reference").fit(reference, _loader())

    pl.seed_everything(0)  # the same start as the reference
    interrupted = _trainer(root / "run", InterruptAt(STOP_AT_STEP), _checkpointing(root / "run"))
    try:
        interrupted.fit(Regressor(), _loader())
    except SystemExit:  # what Ctrl-C ends a fit with, as in Lightning
        pass
    print(f"interrupted at step: {interrupted.global_step}")
    checkpoint = interrupted.checkpoint_callback
    assert checkpoint is not None  # _checkpointing() added one
    print(f"last checkpoint: {checkpoint.last_model_path}")

    resumed_model = Regressor()  # fresh weights: the checkpoint restores everything
    resumed = _trainer(root / "run", ReportStart(), _checkpointing(root / "run"))
    resumed.fit(resumed_model, _loader(), ckpt_path="last")
    same = all(
        torch.equal(value, resumed_model.state_dict()[key])
        for key, value in reference.state_dict().items()
    )
    print(f"resumed from: {resumed.ckpt_path}")
    print(f"final step: {resumed.global_step} (uninterrupted run: {MAX_EPOCHS * len(_loader())})")
    print(f"identical to the uninterrupted run: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
