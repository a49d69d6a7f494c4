"""What ``Trainer.fit`` and ``Trainer.validate`` cost per batch on top of a plain PyTorch loop.

Run::

    python benchmarks/loop_overhead.py            # the full run (about a minute and a half)
    python benchmarks/loop_overhead.py --quick    # a smoke run (seconds; numbers not meaningful)

The model is a tiny MLP (32 -> 32 -> 1, batch 32, SGD, one torch thread), so the framework's
per-batch work is as visible as it can be. Both sides read the same DataLoader (a TensorDataset,
batch 32, no shuffle), so only the loop differs.

Method: the DataLoader's ``collate_fn`` reads the clock each time a batch is assembled (the same
wrapper on both sides). The time from batch 20 to batch 220 of an epoch, divided by 200, is the
steady per-batch cost of the whole loop: data, step, hooks, logging, progress bar. Everything
paid once per run (building the Trainer, set-up hooks, the model summary, the checkpoint written
at the end of the epoch) falls outside that window. Each round runs both sides, alternating
which goes first; one warm-up round is discarded. The table shows the median per-batch time of
each side, the median of the per-round differences ("overhead") and of the per-round ratios
("ratio", which decides PASS / MISS) with the lowest and highest per-round ratio; 25 rounds.
Row (0) runs the plain loop against itself: its distance from 1.000 and its range show how
finely this machine, at that moment, can tell two loops apart. The default clock is process CPU
time, which other busy processes on a shared machine disturb far less than elapsed time
(``--clock wall`` for elapsed time).
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from _common import Row, clock, machine_summary, median, parse_args, print_table, quiet, verdict
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset, default_collate

import plkit as pl

__all__ = [
    "BARE",
    "BATCH",
    "CASES",
    "Case",
    "LoggingModule",
    "Result",
    "TinyModule",
    "Window",
    "main",
    "make_dataset",
    "measure",
    "plain_train",
    "plain_validate",
    "plkit_train",
    "plkit_validate",
]

BATCH = 32
Clock = Callable[[], float]
Runner = Callable[[DataLoader], None]


def make_net() -> nn.Module:
    return nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))


def make_dataset(batches: int) -> TensorDataset:
    generator = torch.Generator().manual_seed(0)
    n = batches * BATCH
    return TensorDataset(
        torch.randn(n, 32, generator=generator), torch.randn(n, 1, generator=generator)
    )


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
def plain_train(loader: DataLoader) -> None:
    """One epoch of SGD on a fresh model, the way a PyTorch user writes it."""
    net = make_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    net.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.mse_loss(net(x), y)
        loss.backward()
        optimizer.step()


def plain_validate(loader: DataLoader) -> None:
    """An evaluation pass keeping the mean loss, as ``self.log("val_loss", ...)`` does."""
    net = make_net()
    net.eval()
    with torch.inference_mode():  # what Trainer(inference_mode=True), the default, uses
        total, count = torch.zeros(()), 0
        for x, y in loader:
            total += F.mse_loss(net(x), y) * x.shape[0]
            count += x.shape[0]
        (total / count).item()  # the one value a user prints at the end
    net.train()


# --- the plkit side ------------------------------------------------------------------------------
BARE = dict(
    logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
)


def plkit_train(module: type[pl.LightningModule], flags: dict, terminal: bool) -> Runner:
    """A runner: ``trainer.fit`` for one epoch in a fresh temporary folder, output silenced."""

    def run(loader: DataLoader) -> None:
        with tempfile.TemporaryDirectory() as root, quiet(terminal=terminal):
            trainer = pl.Trainer(accelerator="cpu", max_epochs=1, default_root_dir=root, **flags)
            trainer.fit(module(), loader)

    return run


def plkit_validate(loader: DataLoader) -> None:
    """``trainer.validate`` over the loader (``validation_step`` logs "val_loss")."""
    with quiet():
        trainer = pl.Trainer(accelerator="cpu", **BARE)
        trainer.validate(LoggingModule(), dataloaders=loader, verbose=False)


# --- measuring -----------------------------------------------------------------------------------
class StampingCollate:
    """``default_collate`` that first notes the clock: one stamp per batch the loop asks for.

    Both sides use it, so its cost (one clock read) is the same on each.

    Args:
        now: the clock.
    """

    def __init__(self, now: Clock) -> None:
        self.now = now
        self.stamps: list[float] = []

    def __call__(self, samples: list[Any]) -> Any:
        self.stamps.append(self.now())
        return default_collate(samples)


@dataclass(frozen=True)
class Case:
    """One row: a plain runner, a plkit runner and the target ratio (None: no target)."""

    label: str
    plain: Runner
    plkit: Runner
    target: float | None


CASES = (
    # The plain loop against itself: the ratio any difference below can be told apart from.
    Case("(0) A/A: plain vs plain", plain_train, plain_train, None),
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


@dataclass(frozen=True)
class Window:
    """Which batches are timed: ``steps`` batches after ``skip`` warm-up batches."""

    skip: int
    steps: int

    def per_batch(self, run: Runner, dataset: TensorDataset, now: Clock) -> float:
        """Seconds per batch from the stamps of batch ``skip`` and batch ``skip + steps``."""
        collate = StampingCollate(now)
        run(DataLoader(dataset, batch_size=BATCH, shuffle=False, collate_fn=collate))
        stamps = collate.stamps
        return (stamps[self.skip + self.steps] - stamps[self.skip]) / self.steps


def measure(case: Case, dataset: TensorDataset, window: Window, rounds: int, now: Clock) -> Result:
    """Median seconds per batch of each side and median per-round ratio; one warm-up round."""
    plain: list[float] = []
    framework: list[float] = []
    for r in range(rounds + 1):
        order = [(case.plain, plain), (case.plkit, framework)]
        for run, out in order if r % 2 else order[::-1]:  # alternate who goes first
            gc.collect()
            value = window.per_batch(run, dataset, now)
            if r:  # round 0 warms up the allocator, caches and lazy imports
                out.append(value)
    ratios = [f / p for p, f in zip(plain, framework)]
    extra = median([f - p for p, f in zip(plain, framework)])
    return Result(median(plain), median(framework), extra, median(ratios), min(ratios), max(ratios))


@dataclass(frozen=True)
class Result:
    """Median seconds per batch of each side and of their per-round difference; the median,
    lowest and highest per-round ratio."""

    plain: float
    plkit: float
    overhead: float
    ratio: float
    lowest: float
    highest: float


def _row(case: Case, result: Result) -> Row:
    cells = (
        f"{result.plain * 1e6:.1f}",
        f"{result.plkit * 1e6:.1f}",
        f"{result.overhead * 1e6:+.1f}",
        f"{result.ratio:.3f}x",
        f"{result.lowest:.2f}-{result.highest:.2f}",
        f"<= {case.target:.2f}x" if case.target else "",
        verdict(result.ratio <= case.target) if case.target else "",
    )
    return Row(case.label, cells)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    torch.set_num_threads(1)
    window, rounds = (Window(5, 50), 1) if args.quick else (Window(20, 200), 25)
    rounds = args.rounds or rounds
    dataset = make_dataset(window.skip + window.steps + 1)
    rows = [_row(case, measure(case, dataset, window, rounds, clock(args))) for case in CASES]
    print_table(
        f"Loop overhead: tiny MLP 32-32-1, batch {BATCH}, SGD, 1 thread; batches "
        f"{window.skip}..{window.skip + window.steps} of one epoch timed; median of {rounds} "
        f"rounds, {args.clock} time\n{machine_summary()}",
        (
            "case",
            "plain µs",
            "plkit µs",
            "overhead µs",
            "ratio",
            "ratio range",
            "target",
            "result",
        ),
        rows,
    )


if __name__ == "__main__":
    main()
