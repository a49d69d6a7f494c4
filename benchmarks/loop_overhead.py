"""What ``Trainer.fit`` and ``Trainer.validate`` cost per batch on top of a plain PyTorch loop.

Run::

    python benchmarks/loop_overhead.py            # the full run (about a minute and a half)
    python benchmarks/loop_overhead.py --quick    # a smoke run (seconds; numbers not meaningful)

The model is a tiny MLP (32 -> 32 -> 1, batch 32, SGD, one torch thread), so the framework's
per-batch work is as visible as it can be. Both sides read the same DataLoader (a TensorDataset,
batch 32, no shuffle), so only the loop differs.

Method: every measurement runs a fresh model twice, once for N batches and once for 2N, and
takes ``(t(2N) - t(N)) / N``. Everything paid once per run (building the Trainer, set-up hooks,
the model summary, the first ``iter(loader)``, the checkpoint written at the end) is in both
runs and cancels; what remains is the steady per-batch cost. Rounds alternate which side runs
first, one warm-up round is discarded, and the table shows the median over rounds; the ratio is
the median plkit time over the median plain time of the same run.
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import torch
from _common import Row, clock, machine_summary, median, parse_args, print_table, quiet, verdict
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl

__all__ = ["Case", "main"]

BATCH = 32
Clock = Callable[[], float]
Runner = Callable[[DataLoader, int, Clock], float]


def make_net() -> nn.Module:
    return nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))


def make_loader(batches: int) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    n = batches * BATCH
    dataset = TensorDataset(
        torch.randn(n, 32, generator=generator), torch.randn(n, 1, generator=generator)
    )
    return DataLoader(dataset, batch_size=BATCH, shuffle=False)


class TinyModule(pl.LightningModule):
    """The MLP under plkit: training_step and configure_optimizers only (case a)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = make_net()

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self.net(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


class LoggingModule(TinyModule):
    """Case (b) and (c): ``self.log("loss", loss)`` every step; a validation step for (d)."""

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        loss = super().training_step(batch, batch_idx)
        self.log("loss", loss)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", F.mse_loss(self.net(x), y))


# --- the plain PyTorch side ----------------------------------------------------------------------
def plain_train(loader: DataLoader, steps: int, now: Clock) -> float:
    """Seconds for ``steps`` SGD steps of a fresh model, the way a PyTorch user writes them."""
    net = make_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    net.train()
    gc.collect()
    start = now()
    for step, (x, y) in enumerate(loader):
        if step == steps:
            break
        optimizer.zero_grad()
        loss = F.mse_loss(net(x), y)
        loss.backward()
        optimizer.step()
    return now() - start


def plain_validate(loader: DataLoader, batches: int, now: Clock) -> float:
    """Seconds for an evaluation pass over ``batches`` batches, keeping the mean loss."""
    net = make_net()
    gc.collect()
    start = now()
    net.eval()
    with torch.inference_mode():  # what Trainer(inference_mode=True), the default, uses
        total, count = torch.zeros(()), 0
        for step, (x, y) in enumerate(loader):
            if step == batches:
                break
            total += F.mse_loss(net(x), y) * x.shape[0]
            count += x.shape[0]
        (total / count).item()  # the one value a user prints at the end
    net.train()
    return now() - start


# --- the plkit side ------------------------------------------------------------------------------
BARE = dict(
    logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
)


def plkit_train(module: type[pl.LightningModule], flags: dict, terminal: bool) -> Callable:
    """A runner: seconds for ``trainer.fit`` over ``steps`` batches (construction untimed)."""

    def run(loader: DataLoader, steps: int, now: Clock) -> float:
        with tempfile.TemporaryDirectory() as root, quiet(terminal=terminal):
            model = module()
            trainer = pl.Trainer(
                accelerator="cpu", max_epochs=1, max_steps=steps, default_root_dir=root, **flags
            )
            gc.collect()
            start = now()
            trainer.fit(model, loader)
            return now() - start

    return run


def plkit_validate(loader: DataLoader, batches: int, now: Clock) -> float:
    """Seconds for ``trainer.validate`` over ``batches`` batches (construction untimed)."""
    with quiet():
        model = LoggingModule()
        trainer = pl.Trainer(accelerator="cpu", limit_val_batches=batches, **BARE)
        gc.collect()
        start = now()
        trainer.validate(model, dataloaders=loader, verbose=False)
        return now() - start


# --- measuring -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One row: a plain runner, a plkit runner and the target ratio."""

    label: str
    plain: Runner
    plkit: Runner
    target: float


CASES = (
    Case("(a) bare", plain_train, plkit_train(TinyModule, BARE, False), 1.03),
    Case("(b) self.log every step", plain_train, plkit_train(LoggingModule, BARE, False), 1.05),
    Case(
        "(c) defaults + self.log, terminal",
        plain_train,
        plkit_train(LoggingModule, {}, True),
        1.10,
    ),
    Case(
        "(c') defaults + self.log, stderr piped",
        plain_train,
        plkit_train(LoggingModule, {}, False),
        1.10,
    ),
    Case("(d) validation batches", plain_validate, plkit_validate, 1.03),
)


def per_batch(run: Runner, loader: DataLoader, n: int, now: Clock) -> float:
    """Seconds per batch by the difference of a 2N-batch and an N-batch run."""
    return (run(loader, 2 * n, now) - run(loader, n, now)) / n


def measure(case: Case, loader: DataLoader, n: int, rounds: int, now: Clock) -> tuple[float, float]:
    """Median seconds per batch (plain, plkit), alternating which runs first; one warm-up."""
    plain: list[float] = []
    framework: list[float] = []
    for r in range(rounds + 1):
        order = ((case.plain, plain), (case.plkit, framework))
        for run, out in order if r % 2 else order[::-1]:
            value = per_batch(run, loader, n, now)
            if r:  # round 0 warms up allocator, caches and lazy imports
                out.append(value)
    return median(plain), median(framework)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    torch.set_num_threads(1)
    n, rounds = (50, 1) if args.quick else (500, 7)
    rounds = args.rounds or rounds
    loader = make_loader(2 * n)
    rows = []
    for case in CASES:
        plain, framework = measure(case, loader, n, rounds, clock(args))
        ratio = framework / plain
        rows.append(
            Row(
                case.label,
                (
                    f"{plain * 1e6:.1f}",
                    f"{framework * 1e6:.1f}",
                    f"{(framework - plain) * 1e6:+.1f}",
                    f"{ratio:.3f}x",
                    f"<= {case.target:.2f}x",
                    verdict(ratio <= case.target),
                ),
            )
        )
    print_table(
        f"Loop overhead: tiny MLP 32-32-1, batch {BATCH}, SGD, 1 thread; per batch = "
        f"(t({2 * n}) - t({n})) / {n}, median of {rounds} rounds, {args.clock} time\n{machine_summary()}",
        ("case", "plain µs", "plkit µs", "overhead µs", "ratio", "target", "result"),
        rows,
    )


if __name__ == "__main__":
    main()
