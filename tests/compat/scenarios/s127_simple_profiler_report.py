"""SimpleProfiler's report: extended=False (two columns, rows by mean), a profiler used on its
own (no stage: "Profiler Report", ``{filename}.txt``), and describe() appending to the file."""

import re
from pathlib import Path

from harness import T, imp
from models import DataModule, Net, quiet_trainer

_CELL = re.compile(r"\|  [^|\t]*?\s*\t")


def shape(text: str) -> dict:
    """The report without timings: its lines with each cell's value replaced by X (rows sorted:
    they are ordered by time)."""
    lines = [_CELL.sub("|  X\t", ln) for ln in text.splitlines()]
    rows = sorted(ln for ln in lines if ln.startswith("|"))
    others = [ln if not ln.startswith("|") else "|row" for ln in lines]
    return {"lines": others, "rows": rows, "actions": sorted(_actions(text))}


def _actions(text: str) -> list:
    return [ln.split("\t")[0][3:].rstrip() for ln in text.splitlines() if ln.startswith("|  ")]


def main() -> None:
    profilers = imp("profilers")
    profiler = profilers.SimpleProfiler(dirpath="out", filename="brief", extended=False)
    trainer = quiet_trainer(profiler=profiler, enable_progress_bar=False, max_epochs=1)
    T.fit(trainer, Net(), datamodule=DataModule())
    T.note("brief", shape(Path("out/fit-brief.txt").read_text()))

    alone = profilers.SimpleProfiler(dirpath="out", filename="alone")
    for _ in range(3):
        with alone.profile("load"):
            pass
    with alone.profile("step") as name:
        T.note("yielded", name)
    T.note("alone_summary", shape(alone.summary()))
    alone.describe()
    alone.describe()  # appends a second report
    T.note("alone_file", shape(Path("out/alone.txt").read_text()))
    T.note("recorded", {k: len(v) for k, v in alone.recorded_durations.items()})
