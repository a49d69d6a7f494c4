"""LightningCLI --print_config for a config naming a profiler by its class name, callbacks of
today's kinds (StochasticWeightAveraging, LearningRateFinder, LearningRateMonitor) and a CSV
logger: every class expanded to class_path / init_args with its defaults (class paths compared by
class name: the package part differs by design)."""

import contextlib
import io
import re
import sys
from pathlib import Path

from harness import expect_exit, imp, note_cli_config
from models import DataModule, Net

REQUIRES = ("jsonargparse",)
cli = imp("cli")

CONFIG = """\
trainer:
  max_epochs: 1
  profiler: SimpleProfiler
  callbacks:
    - class_path: StochasticWeightAveraging
      init_args:
        swa_lrs: 0.01
    - class_path: LearningRateFinder
    - class_path: LearningRateMonitor
  logger:
    class_path: CSVLogger
    init_args:
      save_dir: logs
"""


def main() -> None:
    Path("a.yaml").write_text(CONFIG)
    sys.argv = ["train.py", "fit", "--config=a.yaml", "--print_config"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), expect_exit():
        cli.LightningCLI(Net, DataModule, seed_everything_default=5)
    text = re.sub(r"class_path: [\w.]*\.(\w+)", r"class_path: \1", printed.getvalue())
    note_cli_config("printed", text)
