"""Soak run: 20,000 training steps with logging, checkpointing and validation (issue 11, point 7).

A tiny regression model trains for ``--steps`` optimizer steps with a ``CSVLogger``, a
``ModelCheckpoint`` that keeps the best 3 by ``train_loss`` every 1,000 steps (plus
``last.ckpt``) and validation every 1,000 batches. Every 1,000 steps a callback samples the
process's resident memory (psutil when installed, else ``/proc/self/statm``), its open file
descriptors (``/proc/self/fd``) and the checkpoint files on disk. After a warm-up the run must
stay flat: resident memory grows by less than ``--max-rss-growth-mb``, no file descriptor is
leaked, and never more than ``save_top_k`` + 1 checkpoints exist.

Run it (Linux; a few minutes on 2 CPU cores)::

    python benchmarks/soak.py                     # or: PLKIT_TORCH="torch==2.13.0" nox -s soak
    python benchmarks/soak.py --steps 4000        # a shorter run while developing

It prints one table row per sample and exits with status 1 when a check fails. The figures of a
full run are recorded in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import ModelCheckpoint
from plkit.loggers import CSVLogger

__all__ = ["Sample", "SoakModel", "SoakProbe", "main"]

MIB = 1024 * 1024
SAVE_TOP_K = 3


# ---------------------------------------------------------------------------------------------
# what is measured
# ---------------------------------------------------------------------------------------------
def resident_bytes() -> int:
    """The process's resident set size, from psutil or ``/proc/self/statm``."""
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize()
    return int(psutil.Process().memory_info().rss)


def open_fds() -> int:
    """How many file descriptors the process holds (the listing's own one included, always)."""
    return len(os.listdir("/proc/self/fd"))


@dataclass(frozen=True)
class Sample:
    """One measurement, taken between two training batches."""

    step: int
    seconds: float
    rss: int
    fds: int
    checkpoints: int


class SoakProbe(pl.Callback):
    """Samples memory, file descriptors and checkpoint files every ``every`` optimizer steps.

    A sample is taken at the start of the batch after the step, so the step's validation and
    checkpoint have already happened; garbage is collected first, so that only memory still
    reachable (or kept by the allocator) counts.

    Args:
        every: optimizer steps between samples.
        checkpoint_dir: the folder whose ``*.ckpt`` files are counted.
    """

    def __init__(self, every: int, checkpoint_dir: Path) -> None:
        super().__init__()
        if every < 1:
            raise ValueError(f"SoakProbe(every={every}) is invalid: use an int >= 1.")
        self.every = every
        self.checkpoint_dir = checkpoint_dir
        self.samples: list[Sample] = []
        self.validations = 0
        self._start = time.monotonic()

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._start = time.monotonic()
        self._sample(0)

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        if step and step % self.every == 0 and self.samples[-1].step != step:
            self._sample(step)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self.validations += 1

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self.samples[-1].step != trainer.global_step:
            self._sample(trainer.global_step)

    def _sample(self, step: int) -> None:
        gc.collect()
        files = len(list(self.checkpoint_dir.glob("*.ckpt")))
        elapsed = time.monotonic() - self._start
        self.samples.append(Sample(step, elapsed, resident_bytes(), open_fds(), files))
        print(_row(self.samples[-1], self.samples[0]), flush=True)


# ---------------------------------------------------------------------------------------------
# what is trained
# ---------------------------------------------------------------------------------------------
class SoakModel(pl.LightningModule):
    """A two-layer regression; logs ``train_loss`` every step and ``val_loss`` per validation."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, width), nn.ReLU(), nn.Linear(width, 1))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> Any:
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.01, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.9)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


def loaders(batches_per_epoch: int, batch_size: int = 32) -> tuple[DataLoader, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    weights = torch.randn(16, 1, generator=generator)

    def dataset(samples: int) -> TensorDataset:
        x = torch.randn(samples, 16, generator=generator)
        return TensorDataset(x, x @ weights + 0.1 * torch.randn(samples, 1, generator=generator))

    train = DataLoader(dataset(batches_per_epoch * batch_size), batch_size=batch_size, shuffle=True)
    val = DataLoader(dataset(20 * batch_size), batch_size=batch_size)
    return train, val


# ---------------------------------------------------------------------------------------------
# the run and its verdict
# ---------------------------------------------------------------------------------------------
def _row(sample: Sample, first: Sample) -> str:
    growth = (sample.rss - first.rss) / MIB
    return (
        f"{sample.step:>7} {sample.seconds:>9.1f} {sample.rss / MIB:>9.1f} {growth:>+9.2f}"
        f" {sample.fds:>5} {sample.checkpoints:>6}"
    )


HEADER = f"{'step':>7} {'time (s)':>9} {'RSS MiB':>9} {'vs start':>9} {'fds':>5} {'ckpts':>6}"


def run(args: argparse.Namespace, workdir: Path) -> SoakProbe:
    """Train for ``args.steps`` steps in ``workdir`` and return the probe with its samples."""
    torch.manual_seed(0)
    checkpoint_dir = workdir / "checkpoints"
    probe = SoakProbe(args.every, checkpoint_dir)
    checkpoint = ModelCheckpoint(
        dirpath=checkpoint_dir,
        monitor="train_loss",
        every_n_train_steps=args.every,
        save_top_k=SAVE_TOP_K,
        save_last=True,
    )
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=args.steps,
        val_check_interval=args.every,
        logger=CSVLogger(save_dir=workdir),
        log_every_n_steps=50,
        callbacks=[probe, checkpoint],
        enable_progress_bar=args.progress_bar,
        enable_model_summary=False,
        default_root_dir=workdir,
    )
    train, val = loaders(args.batches_per_epoch)
    print(HEADER, flush=True)
    trainer.fit(SoakModel(), train, val)
    if trainer.global_step != args.steps:
        raise RuntimeError(f"the run stopped at step {trainer.global_step}, not {args.steps}")
    return probe


def verdict(samples: list[Sample], validations: int, args: argparse.Namespace) -> list[str]:
    """The failed checks, as sentences (empty when the run stayed flat and did all its work)."""
    failures = []
    if validations != args.steps // args.every:
        failures.append(f"{validations} validation runs, expected {args.steps // args.every}")
    settled = [s for s in samples if s.step >= args.warmup]
    if len(settled) < 2:
        return [*failures, f"too few samples after the warm-up of {args.warmup} steps to judge"]
    base = settled[0]
    growth = (max(s.rss for s in settled) - base.rss) / MIB
    if growth >= args.max_rss_growth_mb:
        failures.append(
            f"resident memory grew by {growth:.2f} MiB after step {base.step}"
            f" (limit {args.max_rss_growth_mb} MiB)"
        )
    leaked = max(s.fds for s in settled) - base.fds
    if leaked > 0:
        failures.append(f"{leaked} file descriptor(s) more than at step {base.step}")
    most = max(s.checkpoints for s in samples)
    if most > SAVE_TOP_K + 1:
        failures.append(f"{most} checkpoint files at once (limit {SAVE_TOP_K} + last.ckpt)")
    return failures


def summary(samples: list[Sample], validations: int, args: argparse.Namespace) -> str:
    settled = [s for s in samples if s.step >= args.warmup]
    base, last = settled[0], samples[-1]
    peak = max(s.rss for s in settled)
    return (
        f"{last.step} steps in {last.seconds:.0f} s ({last.seconds / last.step * 1e3:.2f} ms/step);"
        f" RSS {samples[0].rss / MIB:.1f} MiB at start, {base.rss / MIB:.1f} MiB at step"
        f" {base.step}, peak after it {peak / MIB:.1f} MiB (+{(peak - base.rss) / MIB:.2f} MiB),"
        f" end {last.rss / MIB:.1f} MiB; fds {base.fds} -> {max(s.fds for s in settled)};"
        f" checkpoints at most {max(s.checkpoints for s in samples)}; {validations} validations"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000, help="optimizer steps (20000)")
    parser.add_argument("--every", type=int, default=1_000, help="steps between samples (1000)")
    parser.add_argument(
        "--warmup", type=int, default=2_000, help="steps before memory must be flat (2000)"
    )
    parser.add_argument("--batches-per-epoch", type=int, default=2_000, help="(2000)")
    parser.add_argument("--max-rss-growth-mb", type=float, default=4.0, help="(4.0)")
    parser.add_argument("--progress-bar", action="store_true", help="show the tqdm bar too")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    args = parser.parse_args(argv)
    if args.steps < args.warmup + 2 * args.every:
        parser.error("--steps must cover the warm-up and at least two more samples")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="plkit-soak-"))
    try:
        probe = run(args, workdir)
    finally:
        if args.keep:
            print(f"run folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(summary(probe.samples, probe.validations, args))
    failures = verdict(probe.samples, probe.validations, args)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    print(
        "soak: " + ("FAILED" if failures else "passed: memory, file descriptors, checkpoints flat")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
