"""SaveConfigCallback: a second run into the same log folder stops with RuntimeError before
training (the first run's config.yaml is kept); save_config_kwargs={"overwrite": True} replaces it."""

import sys
from pathlib import Path

from harness import T, imp, note_cli_config
from models import DataModule, Net, caught

cli = imp("cli")
ARGS = ["train.py", "fit", "--trainer.max_epochs=1", "--trainer.logger=false"]
ARGS += ["--trainer.enable_checkpointing=false", "--trainer.enable_progress_bar=false"]
ARGS += ["--trainer.enable_model_summary=false", "--trainer.limit_train_batches=2"]


def run(lr: str, **kwargs) -> None:
    sys.argv = [*ARGS, f"--model.lr={lr}"]
    made = cli.LightningCLI(Net, DataModule, **kwargs)
    T.data["notes"].setdefault("steps", []).append(made.trainer.global_step)


def main() -> None:
    run("0.1")
    T.note("second_run", caught(lambda: run("0.2")))
    note_cli_config("kept", Path("config.yaml").read_text())
    run("0.3", save_config_kwargs={"overwrite": True})
    note_cli_config("overwritten", Path("config.yaml").read_text())
    Path("config.yaml").unlink()  # noted above, package names normalised
