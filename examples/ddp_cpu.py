"""Distributed data parallel on CPU: two processes, one model, gradients averaged (gloo).

The script is an ordinary Lightning script with ``Trainer(accelerator="cpu", strategy="ddp",
devices=2)``. Start it either way; the result is the same:

    python examples/ddp_cpu.py                                  # plkit starts rank 1 itself
    torchrun --nproc_per_node 2 examples/ddp_cpu.py             # torchrun starts both ranks

With ``python``, plkit re-runs this script once for rank 1 (same arguments, ``LOCAL_RANK=1`` and
the rendezvous variables set), and both processes reach the same ``fit``. Under torchrun the
processes already exist and the Trainer joins them. Each rank trains on its half of every epoch
(a ``DistributedSampler`` is added to the loader), gradients are averaged after each backward,
so both ranks end with the same weights, which each prints as a checksum. Only rank 0 writes
logs and checkpoints. If one rank fails, the whole job stops within seconds.

Options: ``--root DIR`` (or ``PLKIT_EXAMPLES_ROOT``) for the logs, ``--fast`` (or
``PLKIT_EXAMPLES_FAST=1``) for fewer epochs.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl

__all__ = ["Regressor", "main"]

FULL_EPOCHS = 10
FAST_EPOCHS = 2


class Regressor(pl.LightningModule):
    """A two-layer regressor; the loss is logged with ``sync_dist=True`` (averaged over ranks)."""

    def __init__(self, lr: float = 0.05) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, sync_dist=True)
        return loss

    def validation_step(self, batch: list[Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y), sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)


def _loaders() -> tuple[DataLoader, DataLoader]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 4, generator=g)
    data = TensorDataset(x, x.sum(1, keepdim=True))
    # shuffle=True: each epoch the DistributedSampler shuffles with the same seed on every rank
    return DataLoader(data, batch_size=16, shuffle=True), DataLoader(data, batch_size=64)


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
    """Train on two CPU processes; every rank prints what it ended with."""
    args = _parse_args(argv)
    pl.seed_everything(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    trainer = pl.Trainer(
        accelerator="cpu",
        strategy="ddp",
        devices=2,
        max_epochs=FAST_EPOCHS if args.fast else FULL_EPOCHS,
        default_root_dir=args.root,
        enable_progress_bar=False,
        log_every_n_steps=4,
    )
    model = Regressor()
    train_loader, val_loader = _loaders()
    trainer.fit(model, train_loader, val_loader)
    checksum = sum(p.double().sum().item() for p in model.parameters())
    line = (
        f"rank {trainer.global_rank}: world size {trainer.world_size}, "
        f"global step {trainer.global_step}, weights checksum {checksum:.10f}, "
        f"val_loss {trainer.callback_metrics['val_loss'].item():.6f}\n"
    )
    # One write with its newline: the ranks share one stdout, and print's separate write of
    # the newline can land after the other rank's line when stdout is unbuffered.
    print(line, end="", flush=True)
    if trainer.is_global_zero:
        print(f"TensorBoard logs: {trainer.logger.log_dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
