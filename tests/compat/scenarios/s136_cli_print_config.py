"""LightningCLI fit --print_config: every setting with its default (config files and arguments
applied), printed as YAML, then exit 0 without building anything."""

import contextlib
import io
import sys
from pathlib import Path

from harness import T, expect_exit, imp, note_cli_config
from models import DataModule, Net

cli = imp("cli")


def main() -> None:
    Path("a.yaml").write_text("trainer:\n  max_epochs: 4\ndata:\n  n: 32\n")
    sys.argv = ["train.py", "fit", "--config=a.yaml", "--model.lr=0.2"]
    sys.argv += ["--trainer.limit_val_batches=2", "--trainer.precision=32", "--print_config"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), expect_exit():
        cli.LightningCLI(Net, DataModule, seed_everything_default=5)
    T.note("header", printed.getvalue().splitlines()[0].startswith("# "))
    note_cli_config("printed", printed.getvalue())
