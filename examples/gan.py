"""A GAN with manual optimization: two networks, two optimizers, one ``training_step``.

The generator learns to turn noise into samples of a normal distribution N(4, 1.25²); the
discriminator learns to tell its samples from real ones. Two optimizers need manual optimization
(as in Lightning 2.x): ``automatic_optimization = False``, then ``self.optimizers()``,
``self.toggle_optimizer``, ``self.manual_backward`` and ``opt.step()`` in ``training_step``.
``trainer.global_step`` counts every optimizer step, so it grows by two per batch.

Run it (a few seconds on 2 CPU cores)::

    python examples/gan.py                   # logs under ./lightning_logs/version_N
    python examples/gan.py --root /tmp/gan   # or PLKIT_EXAMPLES_ROOT=/tmp/gan
    python examples/gan.py --fast            # a smoke run (or PLKIT_EXAMPLES_FAST=1)
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl

__all__ = ["GAN", "main"]

TARGET_MEAN = 4.0
TARGET_STD = 1.25
FULL_EPOCHS = 30
FAST_EPOCHS = 4


class GAN(pl.LightningModule):
    """A small generator and discriminator for one-dimensional samples.

    Args:
        latent_dim: Size of the generator's noise input.
        lr: Adam's learning rate, for both networks.
    """

    def __init__(self, latent_dim: int = 4, lr: float = 2e-3) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False  # two optimizers: we step them ourselves
        self.generator = nn.Sequential(nn.Linear(latent_dim, 16), nn.ReLU(), nn.Linear(16, 1))
        self.discriminator = nn.Sequential(nn.Linear(1, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def forward(self, noise: Tensor) -> Tensor:
        return self.generator(noise)

    def sample(self, count: int) -> Tensor:
        """``count`` generated samples, without gradients."""
        with torch.no_grad():
            return self(torch.randn(count, self.hparams.latent_dim, device=self.device))

    def training_step(self, batch: list[Tensor], batch_idx: int) -> None:
        (real,) = batch
        opt_g, opt_d = self.optimizers()
        noise = torch.randn(real.shape[0], self.hparams.latent_dim, device=self.device)
        ones, zeros = torch.ones_like(real), torch.zeros_like(real)

        # Generator: make the discriminator call its samples real. Toggling freezes the
        # discriminator's parameters, so this backward leaves their gradients alone.
        self.toggle_optimizer(opt_g)
        fake = self(noise)
        g_loss = F.binary_cross_entropy_with_logits(self.discriminator(fake), ones)
        self.manual_backward(g_loss)
        opt_g.step()
        opt_g.zero_grad()
        self.untoggle_optimizer(opt_g)

        # Discriminator: real samples are 1, generated ones 0 (detached: no generator update).
        self.toggle_optimizer(opt_d)
        real_loss = F.binary_cross_entropy_with_logits(self.discriminator(real), ones)
        fake_loss = F.binary_cross_entropy_with_logits(self.discriminator(fake.detach()), zeros)
        d_loss = (real_loss + fake_loss) / 2
        self.manual_backward(d_loss)
        opt_d.step()
        opt_d.zero_grad()
        self.untoggle_optimizer(opt_d)

        self.log_dict({"g_loss": g_loss, "d_loss": d_loss}, prog_bar=True)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        lr = self.hparams.lr
        return [
            torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.999)),
            torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
        ]


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
    """Train; print the generated distribution before and after, and the step count."""
    args = _parse_args(argv)
    pl.seed_everything(0)
    real = TARGET_MEAN + TARGET_STD * torch.randn(2048, 1)
    loader = DataLoader(TensorDataset(real), batch_size=64, shuffle=True)
    model = GAN()
    before = model.sample(4096)
    trainer = pl.Trainer(
        max_epochs=FAST_EPOCHS if args.fast else FULL_EPOCHS,
        default_root_dir=args.root,
        log_every_n_steps=10,
    )
    trainer.fit(model, loader)
    after = model.sample(4096)
    print(f"batches per epoch: {len(loader)}")
    print(f"global step: {trainer.global_step}")
    print(f"generated mean before: {before.mean().item():.3f}")
    print(f"generated mean after: {after.mean().item():.3f}")
    print(f"generated std after: {after.std().item():.3f}")
    print(f"target: mean {TARGET_MEAN}, std {TARGET_STD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
