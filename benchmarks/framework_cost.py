"""plkit's own cost per training step, measured where the step itself is nearly free.

``loop_overhead.py`` compares whole steps of the issue's MLP; on a shared 2-core machine its noise
(see its A/A row) is as large as the targets. Here the model is ``nn.Linear(1, 1)`` on
pre-built batches, so a step costs ~110 µs of torch and Python and the difference between a
plain loop and ``Trainer.fit`` is the framework's own work, measured with little noise (the
minimum over rounds of process CPU time). Dividing by the MLP step of ``loop_overhead.py``
(~330 µs here) gives the ratio a user of that model sees.

Run::

    python benchmarks/framework_cost.py            # 9 rounds x 3,000 steps
    python benchmarks/framework_cost.py --quick
"""

from __future__ import annotations

import tempfile
import time

import torch
from _common import Row, machine_summary, parse_args, print_table, quiet
from torch import nn

import plkit as pl
from plkit.callbacks import NonFiniteLossCheck
from plkit.profilers import SimpleProfiler

MLP_STEP_US = 330.0  # the plain MLP step of loop_overhead.py on this machine (for the ratio)
TARGETS = {"(a) bare": 1.03, "(b) self.log every step": 1.05, "(c) defaults + self.log": 1.10}


class _Batches:
    """Pre-built batches with a length (no DataLoader work on either side)."""

    def __init__(self, batches: list) -> None:
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class _Tiny(pl.LightningModule):
    def __init__(self, log: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.m = nn.Linear(1, 1)
        self.do_log = log

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.m(x), y)
        if self.do_log:
            self.log("loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


class _Clock(pl.Callback):
    """CPU time from on_train_start to on_train_end (construction and set-up excluded)."""

    def on_train_start(self, trainer, pl_module) -> None:
        self.start = time.thread_time()

    def on_train_end(self, trainer, pl_module) -> None:
        self.seconds = time.thread_time() - self.start


def _plain(batches: list) -> float:
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    start = time.thread_time()
    for x, y in batches:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    return (time.thread_time() - start) / len(batches)


def _plkit(
    batches: list, log: bool, defaults: bool, extra: list | None = None, profiler: bool = False
) -> float:
    clock = _Clock()
    switches = dict(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    if defaults:
        switches = dict(default_root_dir=tempfile.mkdtemp(prefix="plkit-bench-"))
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        callbacks=[clock, *(extra or [])],
        num_sanity_val_steps=0,
        # the report goes to a file (describe() runs after on_train_end, outside the clock)
        profiler=SimpleProfiler(dirpath=tempfile.mkdtemp(), filename="perf") if profiler else None,
        **switches,
    )
    with quiet():
        trainer.fit(_Tiny(log), _Batches(batches))
    return clock.seconds / len(batches)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    torch.set_num_threads(1)
    steps, rounds = (300, 2) if args.quick else (3000, args.rounds or 9)
    batches = [(torch.randn(1, 1), torch.randn(1, 1)) for _ in range(steps)]
    cases = {
        "plain loop": lambda: _plain(batches),
        "(a) bare": lambda: _plkit(batches, log=False, defaults=False),
        "(b) self.log every step": lambda: _plkit(batches, log=True, defaults=False),
        "(c) defaults + self.log": lambda: _plkit(batches, log=True, defaults=True),
        # the optional NaN guard: one device-side add per step, one host read per 100 steps
        "(a) + NonFiniteLossCheck": lambda: _plkit(
            batches, log=False, defaults=False, extra=[NonFiniteLossCheck(every_n_steps=100)]
        ),
        # profiling on: every hook of every callback and of the module timed (Lightning's
        # actions), so the cost is what the profiler itself adds per step
        "(a) + SimpleProfiler": lambda: _plkit(batches, log=False, defaults=False, profiler=True),
    }
    best = {name: float("inf") for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            best[name] = min(best[name], run() * 1e6)
    base = best["plain loop"]
    rows = []
    for name, micros in best.items():
        extra = micros - base
        ratio = (MLP_STEP_US + extra) / MLP_STEP_US
        target = TARGETS.get(name)
        verdict = "" if target is None else ("PASS" if ratio <= target else "MISS")
        rows.append(
            Row(
                name,
                (
                    f"{micros:.1f}",
                    f"{extra:+.1f}",
                    f"{ratio:.3f}x",
                    "" if target is None else f"<= {target:.2f}x",
                    verdict,
                ),
            )
        )
    print_table(
        f"Framework cost per step (nn.Linear(1, 1), {steps} steps, min of {rounds} rounds, CPU time)"
        f"\n{machine_summary()}",
        (
            "case",
            "µs per step",
            "plkit's own µs",
            f"ratio on a {MLP_STEP_US:.0f} µs step",
            "target",
            "result",
        ),
        rows,
    )


if __name__ == "__main__":
    main()
