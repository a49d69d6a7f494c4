"""Python-level calls per training step: a deterministic measure of plkit's per-batch work.

Timings on a shared machine are noisy; the number of function calls a step makes is not. This
script runs the three cases of ``framework_cost.py`` ((a) bare, (b) ``self.log`` every step,
(c) the Trainer's defaults + ``self.log``) under ``sys.setprofile`` and counts the ``call``
(Python function) and ``c_call`` (C function) events of a whole ``fit``. It does so for two
run lengths and divides the difference by the difference in steps, so the set-up and tear-down
of the run drop out and what is left is the steady-state cost of one step (work done every
``log_every_n_steps`` steps is spread over them, as a user pays it). The plain PyTorch loop of
the same step is counted the same way, for reference. No callback or hook is added to take the
measurement, so the loop runs exactly as it would for a user. Two more cases count the
evaluation loops' batches ((d) ``validate``, (e) ``predict``, with the defaults).

The progress bar's redraws that its clock lets through (at most one per
``TQDMProgressBar.MIN_REDRAW_INTERVAL_S``) are switched off for the count: their number depends
on elapsed time, so they are a cost per second, not per step; the forced redraws stay.

Run::

    python benchmarks/calls_per_step.py
    python benchmarks/calls_per_step.py --dump calls.json    # also the calls of one step, by function
    python benchmarks/calls_per_step.py --diff old.json new.json   # which calls a change added

To compare two commits, run ``--dump`` once per commit (``PYTHONPATH`` pointing at the other
checkout's ``packages/*/src``) and ``--diff`` the two files.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from types import FrameType
from typing import Any

import torch
from _common import Row, machine_summary, print_table, quiet
from torch import nn

import plkit as pl
from pllog.progress.tqdm import TQDMProgressBar

SHORT, LONG = 100, 200  # steps of the two runs; multiples of log_every_n_steps (50)


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

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.m(x), y))

    def predict_step(self, batch, batch_idx):
        return self.m(batch[0])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _name(event: str, frame: FrameType, arg: Any) -> str:
    """A name for the called function that is the same in two checkouts (no file paths)."""
    if event == "call":
        code = frame.f_code
        module = frame.f_globals.get("__name__", "?")
        return f"{module}.{getattr(code, 'co_qualname', code.co_name)}"
    module = getattr(arg, "__module__", None) or type(getattr(arg, "__self__", None)).__name__
    return f"[C] {module}.{getattr(arg, '__qualname__', repr(arg))}"


def _count(run: Callable[[], None]) -> Counter:
    """The calls ``run`` makes, by function name."""
    counts: Counter = Counter()
    gc.collect()  # objects of an earlier run are not finalised inside this count

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" or event == "c_call":
            counts[_name(event, frame, arg)] += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return counts


def _plain(steps: int) -> Callable[[], None]:
    batches = _make(steps)

    def run() -> None:
        torch.manual_seed(0)
        model = nn.Linear(1, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    return run


def _make(steps: int) -> list:
    torch.manual_seed(1)
    return [(torch.randn(1, 1), torch.randn(1, 1)) for _ in range(steps)]


def _fit(log: bool, defaults: bool, stage: str = "fit") -> Callable[[int], Callable[[], None]]:
    def prepare(steps: int) -> Callable[[], None]:
        batches = _Batches(_make(steps))  # built outside the count, as the plain loop's are
        return lambda: fit(steps, batches)

    def fit(steps: int, batches: _Batches) -> None:
        switches: dict[str, Any] = dict(
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        if defaults:
            switches = dict(default_root_dir=tempfile.mkdtemp(prefix="plkit-calls-"))
        model = _Tiny(log)
        with quiet():
            trainer = pl.Trainer(
                max_epochs=1, accelerator="cpu", num_sanity_val_steps=0, **switches
            )
            getattr(trainer, stage)(model, batches)

    return prepare


CASES: dict[str, Callable[[int], Callable[[], None]]] = {
    "plain loop": _plain,
    "(a) bare": _fit(log=False, defaults=False),
    "(b) self.log every step": _fit(log=True, defaults=False),
    "(c) defaults + self.log": _fit(log=True, defaults=True),
    # not in framework_cost.py: the evaluation loops, with the defaults (bar on)
    "(d) validate, defaults + self.log": _fit(log=True, defaults=True, stage="validate"),
    "(e) predict, defaults": _fit(log=False, defaults=True, stage="predict"),
}


def per_step(prepare: Callable[[int], Callable[[], None]]) -> dict[str, float]:
    """Calls per steady-state step of the case ``prepare`` sets up, by function name."""
    prepare(SHORT)()  # warm-up: first-use imports and caches are not the steady state
    short = _count(prepare(SHORT))
    long = _count(prepare(LONG))
    steps = LONG - SHORT
    names = set(short) | set(long)
    return {n: (long[n] - short[n]) / steps for n in names if long[n] != short[n]}


def _diff(old_path: str, new_path: str) -> None:
    with open(old_path, encoding="utf-8") as f:
        old = json.load(f)
    with open(new_path, encoding="utf-8") as f:
        new = json.load(f)
    for case in new:
        before, after = old.get(case, {}), new[case]
        print(f"\n{case}: {sum(before.values()):.1f} -> {sum(after.values()):.1f} calls per step")
        for name in sorted(set(before) | set(after)):
            delta = after.get(name, 0.0) - before.get(name, 0.0)
            if abs(delta) > 1e-9:
                print(f"  {delta:+6.2f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", metavar="FILE", help="write the per-function counts as JSON")
    parser.add_argument("--diff", nargs=2, metavar=("OLD", "NEW"), help="compare two dumps")
    parser.add_argument("--quick", action="store_true", help="accepted for nox -s bench")
    parser.add_argument("--rounds", type=int, default=None, help="accepted, not used")
    parser.add_argument("--clock", default=None, help="accepted, not used")
    args = parser.parse_args()
    if args.diff:
        _diff(*args.diff)
        return
    torch.set_num_threads(1)
    # The training bar redraws at most every MIN_REDRAW_INTERVAL_S seconds between its forced
    # redraws; how many of those fall in a run depends on the clock (and on how much the
    # profiling slows the run), so they are left out: a cost per second of run, not per step.
    TQDMProgressBar.MIN_REDRAW_INTERVAL_S = float("inf")
    counts = {name: per_step(run) for name, run in CASES.items()}
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as f:
            json.dump(counts, f, indent=1, sort_keys=True)
    plain = sum(counts["plain loop"].values())
    rows = []
    for name, calls in counts.items():
        total = sum(calls.values())
        python = sum(v for n, v in calls.items() if not n.startswith("[C] "))
        rows.append(
            Row(
                name,
                (f"{total:.1f}", f"{python:.1f}", f"{total - python:.1f}", f"{total - plain:+.1f}"),
            )
        )
    print_table(
        f"Calls per training step (steady state, {SHORT}- vs {LONG}-step runs); "
        f"{machine_summary()}; plkit from {pl.__file__}",
        ["case", "calls", "Python calls", "C calls", "vs plain"],
        rows,
    )


if __name__ == "__main__":
    main()
