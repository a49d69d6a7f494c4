"""LightningCLI fit --help lists --trainer.profiler.help and --trainer.plugins.help (profiler and
plugins are typed as classes); --trainer.profiler.help SimpleProfiler lists its init arguments;
--trainer.profiler=SimpleProfiler builds the profiler."""

import contextlib
import io
import re
import sys

from harness import T, expect_exit, imp
from models import DataModule, Net

REQUIRES = ("jsonargparse",)
cli = imp("cli")


def flags(argv: list[str]) -> list[str]:
    sys.argv = ["train.py", *argv]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), expect_exit():
        cli.LightningCLI(Net, DataModule)
    return sorted(set(re.findall(r"--trainer\.(?:profiler|plugins)[\w.]*", printed.getvalue())))


def main() -> None:
    T.note("fit_help", flags(["fit", "--help"]))
    T.note("profiler_help", flags(["fit", "--trainer.profiler.help", "SimpleProfiler"]))
    sys.argv = ["train.py", "--trainer.profiler=SimpleProfiler", "--trainer.max_epochs=1"]
    made = cli.LightningCLI(Net, DataModule, run=False)
    profiler = made.trainer.profiler
    T.note("profiler", [type(profiler).__name__, profiler.extended, profiler.filename])
