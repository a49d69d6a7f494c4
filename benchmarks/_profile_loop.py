"""Where plkit's per-batch time goes: cProfile of the loop_overhead cases (not run by nox).

Run::

    python benchmarks/_profile_loop.py            # cases a b c d, 2,000 batches each
    python benchmarks/_profile_loop.py a b        # only these cases

For each case it profiles one ``fit`` (or ``validate``) over 2,000 batches and prints the
functions of the four plkit packages with the most own time (time in the function itself, not
in what it calls), then the same for all other code (torch, the DataLoader, builtins), in µs
per batch. cProfile slows
every Python call by a similar amount, so the numbers overstate Python-heavy code; read them as
a ranking. The set-up work of a run is included but spread over 2,000 batches it is small.
"""

from __future__ import annotations

import cProfile
import pstats
import sys

import torch
from _common import Row as TableRow
from _common import print_table
from loop_overhead import BATCH, CASES, make_dataset
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
    case = next(c for c in CASES if c.label.startswith(f"({letter})"))
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


def _table(entries: list[tuple[float, int, tuple]], title: str) -> None:
    rows = [
        TableRow(_label(key), (f"{seconds / BATCHES * 1e6:.1f}", f"{calls / BATCHES:.2f}"))
        for seconds, calls, key in entries[:TOP]
    ]
    print_table(title, ("function", "µs / batch", "calls / batch"), rows)


def main() -> None:
    torch.set_num_threads(1)
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
        _table(_own_times(stats, framework=False), f"case ({letter}): other code by own time")


if __name__ == "__main__":
    main()
