"""Learning-rate warm-up in ``optimizer_step`` and a custom ``backward``: the seed's "More" items.

Two hooks a LightningModule may override to change how it learns, without writing the loop:

- ``optimizer_step`` runs once per optimizer step. Here it raises the learning rate linearly
  from ``base_lr / warmup_steps`` to ``base_lr`` over the first ``warmup_steps`` steps, then
  calls ``optimizer.step(closure=optimizer_closure)`` as the default does (the closure runs
  ``training_step``, ``zero_grad`` and ``backward``).
- ``backward`` runs once per batch. Here it calls ``loss.backward()`` and then adds annealed
  Gaussian noise to the gradients (Neelakantan et al., 2015, "Adding Gradient Noise Improves
  Learning for Very Deep Networks"), the variance shrinking as ``eta / (1 + step) ** 0.55``.

Run it (a few seconds on 2 CPU cores)::

    python examples/warmup.py                      # logs under ./lightning_logs/version_N
    python examples/warmup.py --root /tmp/warmup   # or PLKIT_EXAMPLES_ROOT=/tmp/warmup
    python examples/warmup.py --fast               # a smoke run (or PLKIT_EXAMPLES_FAST=1)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import LearningRateMonitor

__all__ = ["WarmupRegressor", "main"]

FULL_EPOCHS = 20
FAST_EPOCHS = 2


class WarmupRegressor(pl.LightningModule):
    """A two-layer regressor trained with SGD, warm-up and gradient noise.

    Args:
        base_lr: The learning rate after warm-up.
        warmup_steps: Optimizer steps over which the learning rate rises to ``base_lr``.
        noise_eta: Scale of the gradient noise (0 turns it off).
    """

    def __init__(self, base_lr: float = 0.05, warmup_steps: int = 10, noise_eta: float = 0.01):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
        self.learning_rates: list[float] = []  # the rate each optimizer step used
        self.backward_calls = 0

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = F.mse_loss(self.net(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def backward(self, loss: Tensor, *args: Any, **kwargs: Any) -> None:
        loss.backward(*args, **kwargs)
        self.backward_calls += 1
        std = (self.hparams.noise_eta / (1 + self.global_step) ** 0.55) ** 0.5
        for param in self.parameters():
            if param.grad is not None:
                param.grad.add_(torch.randn_like(param.grad), alpha=std)

    def optimizer_step(
        self,
        epoch: int,
        batch_idx: int,
        optimizer: Any,
        optimizer_closure: Callable[[], Any] | None = None,
    ) -> None:
        # global_step counts the steps already taken, so the first step uses base_lr / warmup.
        scale = min(1.0, (self.global_step + 1) / self.hparams.warmup_steps)
        for group in optimizer.param_groups:
            group["lr"] = scale * self.hparams.base_lr
        self.learning_rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step(closure=optimizer_closure)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.base_lr)


def _dataset(seed: int = 0) -> TensorDataset:
    """y = a fixed random linear function of x, plus a little noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 8, generator=g)
    w = torch.randn(8, 1, generator=g)
    return TensorDataset(x, x @ w + 0.1 * torch.randn(512, 1, generator=g))


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
    """Train; print the learning rate of the first steps and how often backward ran."""
    args = _parse_args(argv)
    pl.seed_everything(0)
    loader = DataLoader(_dataset(), batch_size=32, shuffle=True)
    model = WarmupRegressor()
    trainer = pl.Trainer(
        max_epochs=FAST_EPOCHS if args.fast else FULL_EPOCHS,
        default_root_dir=args.root,
        callbacks=[LearningRateMonitor(logging_interval="step")],  # logs "lr-SGD" too
        log_every_n_steps=5,
    )
    trainer.fit(model, loader)
    warmup = model.hparams.warmup_steps
    rates = ", ".join(f"{lr:.3f}" for lr in model.learning_rates[: warmup + 2])
    print(f"learning rates of the first {warmup + 2} steps: {rates}")
    print(f"global step: {trainer.global_step}")
    print(f"backward calls: {model.backward_calls}")
    print(f"final train loss: {trainer.callback_metrics['train_loss'].item():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
