"""Fully sharded data parallel on CPU: two processes, each holding half of every weight.

An ordinary Lightning script with ``Trainer(accelerator="cpu", strategy=FSDPStrategy(...),
devices=2)``; start it as the DDP example::

    python examples/fsdp_cpu.py                                 # plkit starts rank 1 itself
    torchrun --nproc_per_node 2 examples/fsdp_cpu.py

The model is built on the meta device (``trainer.init_module(empty_init=True)``: no memory) and
its blocks are made in ``configure_model``; when fit starts, each ``Block`` becomes its own FSDP
unit and every rank allocates and initialises only its shards. Checkpoints are sharded folders
(``state_dict_type="sharded"``), written by both ranks at once; the script then loads the last
one into a single process with ``load_from_checkpoint`` and prints its validation loss, which
matches what training reported.

Options: ``--root DIR`` (or ``PLKIT_EXAMPLES_ROOT``) for logs and checkpoints, ``--fast`` (or
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
from plkit.strategies import FSDPStrategy

__all__ = ["Block", "Regressor", "main"]

FULL_EPOCHS = 10
FAST_EPOCHS = 2


class Block(nn.Module):
    """A residual MLP block: the unit FSDP gathers and frees as one."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.linear = nn.Linear(width, width)

    def forward(self, x: Tensor) -> Tensor:
        return x + torch.tanh(self.linear(self.norm(x)))


class Regressor(pl.LightningModule):
    """``inp -> width``, a few Blocks, ``width -> 1``; the blocks are made in configure_model."""

    def __init__(self, width: int = 32, blocks: int = 3, lr: float = 0.01) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.inp = nn.Linear(4, width)
        self.out = nn.Linear(width, 1)
        self.blocks: nn.Sequential | None = None

    def configure_model(self) -> None:
        if self.blocks is None:  # also called by load_from_checkpoint, on a built model
            self.blocks = nn.Sequential(
                *(Block(self.hparams.width) for _ in range(self.hparams.blocks))
            )

    def forward(self, x: Tensor) -> Tensor:
        assert self.blocks is not None
        return self.out(self.blocks(self.inp(x)))

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, sync_dist=True)
        return loss

    def validation_step(self, batch: list[Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self(x), y), sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)


def _data() -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.environ.get("PLKIT_EXAMPLES_ROOT") or os.getcwd()
    parser.add_argument("--root", default=root, help="where logs and checkpoints go")
    parser.add_argument("--fast", action="store_true", help="a few epochs, for CI")
    args = parser.parse_args(argv)
    args.fast = args.fast or os.environ.get("PLKIT_EXAMPLES_FAST", "") not in ("", "0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Train sharded on two CPU processes, then load the last checkpoint in one process."""
    args = _parse_args(argv)
    pl.seed_everything(0)
    trainer = pl.Trainer(
        accelerator="cpu",
        strategy=FSDPStrategy(auto_wrap_policy={Block}, state_dict_type="sharded"),
        devices=2,
        max_epochs=FAST_EPOCHS if args.fast else FULL_EPOCHS,
        default_root_dir=args.root,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=4,
    )
    with trainer.init_module(empty_init=True):
        model = Regressor()  # on the meta device: materialised shard by shard by fit
    data = _data()
    trainer.fit(
        model, DataLoader(data, batch_size=16, shuffle=True), DataLoader(data, batch_size=64)
    )
    val_loss = trainer.callback_metrics["val_loss"].item()
    if trainer.is_global_zero:
        checkpoint = trainer.checkpoint_callback  # None only with enable_checkpointing=False
        assert checkpoint is not None
        path = checkpoint.best_model_path
        print(f"trained: global step {trainer.global_step}, val_loss {val_loss:.6f}", flush=True)
        print(f"sharded checkpoint: {path} ({', '.join(sorted(os.listdir(path)))})", flush=True)
        single = Regressor.load_from_checkpoint(path)  # one process, no process group
        x, y = data.tensors
        with torch.no_grad():
            loss = nn.functional.mse_loss(single(x), y).item()
        print(f"loaded in one process: val_loss {loss:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
