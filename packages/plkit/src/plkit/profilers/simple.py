"""``SimpleProfiler``: each action's durations, reported as a table at the end of the run."""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from pathlib import Path

from plkit.profilers.profiler import Profiler

__all__ = ["SimpleProfiler"]


class SimpleProfiler(Profiler):
    """Records how long each action takes (``time.perf_counter``) and reports, per action, the
    mean duration and the total (with ``extended``: also the number of calls and the share of
    the time since the profiler was made).

    Args:
        dirpath: the folder of ``filename``; ``None`` uses the Trainer's ``log_dir``.
        filename: write the report to ``{stage}-{filename}.txt`` instead of the log.
        extended: add the "Num calls" and "Percentage %" columns and a "Total" row.

    Raises:
        ValueError: an action is started twice, or stopped without being started.
    """

    def __init__(
        self,
        dirpath: str | Path | None = None,
        filename: str | None = None,
        extended: bool = True,
    ) -> None:
        super().__init__(dirpath=dirpath, filename=filename)
        self.current_actions: dict[str, float] = {}
        self.recorded_durations: dict[str, list[float]] = defaultdict(list)
        self.extended = extended
        self.start_time = time.perf_counter()

    def start(self, action_name: str) -> None:
        if action_name in self.current_actions:
            raise ValueError(f"Attempted to start {action_name} which has already started.")
        self.current_actions[action_name] = time.perf_counter()

    def stop(self, action_name: str) -> None:
        end = time.perf_counter()
        began = self.current_actions.pop(action_name, None)
        if began is None:
            raise ValueError(
                f"Attempting to stop recording an action ({action_name}) which was never started."
            )
        self.recorded_durations[action_name].append(end - began)

    def summary(self) -> str:
        sep = os.linesep
        title = f"{self._stage.upper()} " if self._stage is not None else ""
        text = f"{title}Profiler Report{sep}"
        if self.recorded_durations:
            text += self._table_extended() if self.extended else self._table()
        return text + sep

    def _columns(self, widths: int) -> str:
        """One row's format: the action left-aligned to the longest name, then ``widths``
        columns 15 wide, each followed by a tab."""
        width = max(len(k) for k in self.recorded_durations)
        cells = "".join("  {:<15}\t|" for _ in range(widths))
        return "{sep}|  {:<" + str(width) + "}\t|" + cells

    def _table_extended(self) -> str:
        sep = os.linesep
        row = self._columns(4)
        header = row.format("Action", "Mean duration (s)", "Num calls", "Total time (s)",
                            "Percentage %", sep=sep)  # fmt: skip
        rule = sep + "-" * len(header.expandtabs())
        elapsed = time.perf_counter() - self.start_time
        rows = []
        for action, durations in self.recorded_durations.items():
            total = math.fsum(durations)
            rows.append((action, total / len(durations), len(durations), total,
                         100.0 * total / elapsed))  # fmt: skip
        rows.sort(key=lambda r: r[4], reverse=True)
        calls = sum(r[2] for r in rows)
        text = rule + header + rule
        text += row.format("Total", "-", f"{calls}", f"{elapsed:.5}", "100 %", sep=sep) + rule
        for action, mean, count, total, share in rows:
            text += row.format(action, f"{mean:.5}", f"{count}", f"{total:.5}", f"{share:.5}",
                               sep=sep)  # fmt: skip
        return text + rule

    def _table(self) -> str:
        sep = os.linesep
        row = self._columns(2)
        header = row.format("Action", "Mean duration (s)", "Total time (s)", sep=sep)
        rule = sep + "-" * len(header.expandtabs())
        rows = []
        for action, durations in self.recorded_durations.items():
            total = math.fsum(durations)
            rows.append((action, total / len(durations), total))
        rows.sort(key=lambda r: r[1], reverse=True)
        text = rule + header + rule
        for action, mean, total in rows:
            text += row.format(action, f"{mean:.5}", f"{total:.5}", sep=sep)
        return text + rule
