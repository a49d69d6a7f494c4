"""Where plkit's per-batch time goes: cProfile of the loop_overhead cases (not run by nox).

Run::

    python benchmarks/_profile_loop.py              # cases a b c d, 2,000 batches each
    python benchmarks/_profile_loop.py a b          # only these cases
    python benchmarks/_profile_loop.py breakdown    # case (c) one feature at a time, unprofiled

For each case it profiles one ``fit`` (or ``validate``) over 2,000 batches and prints the
functions of the four plkit packages with the most own time (time in the function itself, not
in what it calls); plkit's per-batch functions that do not wrap the user's step, by cumulative
time (what logging, callbacks and bars cost, torch calls included); and the other code (torch,
the DataLoader, builtins) by own time; all in µs per batch. cProfile slows
every Python call by a similar amount, so the numbers overstate Python-heavy code; read them as
a ranking. The set-up work of a run is included but spread over 2,000 batches it is small.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

import torch
from _common import Row as TableRow
from _common import print_table
from loop_overhead import (
    BARE,
    BATCH,
    CASES,
    Case,
    LoggingModule,
    Window,
    make_dataset,
    measure,
    plain_train,
    plkit_train,
)
from torch.utils.data import DataLoader

__all__ = ["main"]

BATCHES = 2000
PACKAGES = ("/plkit/", "/plcore/", "/pllog/", "/placcel/")
TOP = 12


def _is_framework(filename: str) -> bool:
    return any(package in filename for package in PACKAGES)


def _label(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    for package in PACKAGES:
        if package in filename:
            filename = package.strip("/") + "/" + filename.split(package, 1)[1]
            break
    else:
        filename = filename.rsplit("/", 1)[-1]
    return f"{filename}:{line} {name}"


def profile_case(letter: str) -> pstats.Stats:
    case = next((c for c in CASES if c.label.startswith(f"({letter})")), None)
    if case is None:
        known = " ".join(c.label.split(")")[0].lstrip("(") for c in CASES)
        raise SystemExit(f"unknown case {letter!r}; write some of: {known}, or 'breakdown'")
    loader = DataLoader(make_dataset(BATCHES), batch_size=BATCH, shuffle=False)
    case.plkit(loader)  # warm-up: lazy imports, allocator
    profiler = cProfile.Profile()
    profiler.enable()
    case.plkit(loader)
    profiler.disable()
    return pstats.Stats(profiler)


def _own_times(stats: pstats.Stats, framework: bool) -> list[tuple[float, int, tuple]]:
    """(own seconds, calls, key), largest first; ``framework`` keeps only plkit's packages."""
    # stats.stats: {key: (primitive calls, calls, own time, cumulative time, callers)}
    entries = [
        (values[2], values[1], key)
        for key, values in stats.stats.items()  # type: ignore[attr-defined]
        if _is_framework(key[0]) == framework
    ]
    return sorted(entries, reverse=True)


# plkit functions whose cumulative time is mostly work a plain loop does too: the user's step,
# backward, the optimizer's step and zero_grad, fetching the batch.
WRAPPERS = frozenset(
    {
        "_run_automatic",
        "_plain_backward",
        "_with_last",
        "backward",
        "closure",
        "optimizer_step",
        "run_step",
        "step",
        "training_step",
        "wrapped",
        "zero_grad",
    }
)


def _feature_times(stats: pstats.Stats) -> list[tuple[float, int, tuple]]:
    """(cumulative seconds, calls, key) of plkit's per-batch functions that wrap no user work.

    Per-batch: called at least once every 100 batches. Wrapping no user work: not one of
    :data:`WRAPPERS` and under a third of the run, so what remains is logging, callbacks,
    progress bars and the like, with the torch calls they make.
    """
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = [
        (values[3], values[1], key)
        for key, values in stats.stats.items()  # type: ignore[attr-defined]
        if _is_framework(key[0])
        and key[2] not in WRAPPERS
        and values[1] >= BATCHES / 100
        and values[3] < total / 3
    ]
    return sorted(entries, reverse=True)


def _table(entries: list[tuple[float, int, tuple]], title: str) -> None:
    rows = [
        TableRow(_label(key), (f"{seconds / BATCHES * 1e6:.1f}", f"{calls / BATCHES:.2f}"))
        for seconds, calls, key in entries[:TOP]
    ]
    print_table(title, ("function", "µs / batch", "calls / batch"), rows)


def breakdown(rounds: int = 5) -> None:
    """What each default feature of case (c) adds per batch, measured as loop_overhead does."""
    features = {
        "self.log only (b)": {},
        "+ progress bar, terminal": {"enable_progress_bar": True},
        "+ progress bar, piped": {"enable_progress_bar": True},
        "+ TensorBoard logger": {"logger": True},
        "+ ModelCheckpoint": {"enable_checkpointing": True},
        "+ model summary": {"enable_model_summary": True},
    }
    window = Window(20, 500)
    dataset = make_dataset(window.skip + window.steps + 1)
    rows = []
    for label, on in features.items():
        flags = {**BARE, **on}
        case = Case(label, plain_train, plkit_train(LoggingModule, flags, "terminal" in label), 0)
        result = measure(case, dataset, window, rounds, time.process_time)
        overhead = (result.plkit - result.plain) * 1e6
        cells = (f"{result.plain * 1e6:.1f}", f"{result.plkit * 1e6:.1f}", f"{overhead:+.1f}")
        rows.append(TableRow(label, (*cells, f"{result.ratio:.3f}x")))
    print_table(
        f"Case (c) one feature at a time (self.log every step in all), median of {rounds}",
        ("features on", "plain µs", "plkit µs", "overhead µs", "ratio"),
        rows,
    )


def main() -> None:
    torch.set_num_threads(1)
    if sys.argv[1:] == ["breakdown"]:
        breakdown()
        return
    letters = sys.argv[1:] or ["a", "b", "c", "d"]
    for letter in letters:
        stats = profile_case(letter)
        total = stats.total_tt / BATCHES * 1e6  # type: ignore[attr-defined]
        ours = _own_times(stats, framework=True)
        ours_total = sum(seconds for seconds, _, _ in ours) / BATCHES * 1e6
        print(
            f"\n## case ({letter}): {total:.0f} µs per batch under cProfile, of which "
            f"{ours_total:.0f} µs is the own time of plkit's packages"
        )
        _table(ours, f"case ({letter}): plkit's functions by own time")
        _table(
            _feature_times(stats),
            f"case ({letter}): plkit's per-batch functions outside the user's step, cumulative",
        )
        _table(_own_times(stats, framework=False), f"case ({letter}): other code by own time")


if __name__ == "__main__":
    main()
