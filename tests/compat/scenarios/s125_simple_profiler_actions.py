"""SimpleProfiler through fit / validate / test / predict: the actions it records (names, how
many times, in which order first), the report files it writes and their table's layout."""

import re
from pathlib import Path

from harness import T, imp
from models import DataModule, Net, quiet_trainer

_CELL = re.compile(r"\|  [^|\t]*?\s*\t")


def table_shape(text: str) -> dict:
    """The report without its timings: title, rule lengths, header, the rows' actions (sorted:
    rows are ordered by time) and each row's cell count."""
    lines = text.splitlines()
    rows = [ln for ln in lines if ln.startswith("|")]
    return {
        "title": lines[0],
        "rules": sorted({len(ln) for ln in lines if ln and set(ln) == {"-"}}),
        "header": rows[0] if rows else None,
        "total": _CELL.sub("|  X\t", rows[1]) if len(rows) > 1 else None,
        "actions": sorted(r.split("\t")[0][3:].rstrip() for r in rows[2:]),
        "cells": sorted({r.count("\t|") for r in rows}),
        "blank_lines": [i for i, ln in enumerate(lines) if not ln],
    }


def main() -> None:
    profilers = imp("profilers")
    model, dm = Net(), DataModule()
    for fn in ("fit", "validate", "test", "predict"):
        profiler = profilers.SimpleProfiler(dirpath="reports", filename="perf")
        trainer = quiet_trainer(profiler=profiler, enable_progress_bar=False)
        getattr(T, fn)(trainer, model, datamodule=dm)
        T.note(f"{fn}_actions", {k: len(v) for k, v in profiler.recorded_durations.items()})
        T.note(f"{fn}_table", table_shape(Path(f"reports/{fn}-perf.txt").read_text()))
    T.note("profiler_is_kept", trainer.profiler is profiler)
    T.final(model)
