"""Shared pieces of the benchmark scripts: arguments, statistics, quiet runs and the tables.

A private helper (``nox -s bench`` skips ``_``-prefixed files); every script imports it from its
own folder, so ``python benchmarks/<name>.py`` works from any working directory.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

__all__ = [
    "Row",
    "TTYSink",
    "clock",
    "machine_summary",
    "median",
    "parse_args",
    "print_table",
    "quiet",
    "verdict",
]


def parse_args(description: str) -> argparse.Namespace:
    """``--quick`` (a smoke run of a few seconds, numbers not meaningful) and ``--rounds``.

    Every script takes the same options because ``nox -s bench -- --quick`` passes them to all.

    Args:
        description: the script's one-line summary, shown by ``--help``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="a fast smoke run: few rounds, few steps"
    )
    parser.add_argument("--rounds", type=int, default=None, help="override the number of rounds")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: this process's CPU time, which other busy processes barely disturb (default); "
        "wall: elapsed time, right on an idle machine",
    )
    args = parser.parse_args()
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def clock(args: argparse.Namespace) -> Callable[[], float]:
    """The timer ``--clock`` asks for: ``time.process_time`` or ``time.perf_counter``.

    Process CPU time counts every thread of the process (TensorBoard's writer thread too) and
    leaves out the time other processes hold the cores, so numbers taken on a shared machine
    stay comparable; it misses time spent waiting (sleeps, disk), which these loops do not do.

    Args:
        args: the parsed arguments.
    """
    return time.process_time if args.clock == "cpu" else time.perf_counter


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (robust to the odd descheduled round on a shared machine).

    Args:
        values: at least one measurement.
    """
    if not values:
        raise ValueError("median() needs at least one value; run at least one round.")
    return statistics.median(values)


def verdict(ok: bool) -> str:
    """``PASS`` or ``MISS`` for a target row.

    Args:
        ok: whether the measured value meets the target.
    """
    return "PASS" if ok else "MISS"


def machine_summary() -> str:
    """One line naming the machine: CPU model, cores, Python and torch versions."""
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


@dataclass(frozen=True)
class Row:
    """One line of a result table: a label and its cells, already formatted."""

    label: str
    cells: tuple[str, ...]


def print_table(title: str, headers: Sequence[str], rows: Sequence[Row]) -> None:
    """Print a Markdown table (pastes straight into docs/performance.md).

    Args:
        title: printed above the table.
        headers: the column names, the label column first.
        rows: the rows; each has ``len(headers) - 1`` cells.
    """
    lines = [list(headers)] + [[row.label, *row.cells] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    print(f"\n{title}\n")
    for n, line in enumerate(lines):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    sys.stdout.flush()


class TTYSink(io.TextIOBase):
    """A stream that says it is a terminal and throws the text away.

    Progress bars behave as on a terminal (a redraw every refresh), so their cost is measured,
    while the benchmark's own output stays readable.
    """

    def isatty(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


@contextlib.contextmanager
def quiet(terminal: bool = False) -> Iterator[None]:
    """Silence a run's stdout, stderr, warnings and log records (its summary, bars, notices).

    Args:
        terminal: make stdout, where the progress bar draws (as Lightning's does), look like a
            terminal (see :class:`TTYSink`); otherwise stdout is a pipe-like sink, as under CI
            or ``nohup``.
    """
    out: io.TextIOBase = TTYSink() if terminal else io.StringIO()
    previous_disable = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous_disable)
