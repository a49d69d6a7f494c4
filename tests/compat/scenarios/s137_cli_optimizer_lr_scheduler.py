"""LightningCLI --optimizer / --lr_scheduler from the command line: the model's
configure_optimizers is replaced (with a warning), the learning rates per epoch, the weights."""

import sys
from pathlib import Path

from harness import T, imp, note_cli_config, pl
from models import DataModule, Net, lrs

cli = imp("cli")


class Rates(pl.Callback):
    def on_train_epoch_end(self, trainer, pl_module) -> None:
        T.data["notes"].setdefault("lrs", []).append(lrs(trainer))


def main() -> None:
    sys.argv = ["train.py", "fit", "--trainer.max_epochs=3", "--trainer.logger=false"]
    sys.argv += ["--trainer.enable_checkpointing=false", "--trainer.enable_progress_bar=false"]
    sys.argv += ["--trainer.enable_model_summary=false", "--trainer.limit_train_batches=2"]
    sys.argv += ["--optimizer=Adam", "--optimizer.lr=0.01", "--optimizer.weight_decay=0.1"]
    sys.argv += ["--lr_scheduler=StepLR", "--lr_scheduler.step_size=1"]
    sys.argv += ["--lr_scheduler.gamma=0.5"]
    run = cli.LightningCLI(Net, DataModule, trainer_defaults={"callbacks": [Rates()]})
    T.note("optimizer", type(run.trainer.optimizers[0]).__name__)
    T.note("scheduler", type(run.trainer.lr_scheduler_configs[0].scheduler).__name__)
    T.note("global_step", run.trainer.global_step)
    saved = Path("config.yaml")
    note_cli_config("saved", saved.read_text())
    saved.unlink()  # noted above, package names normalised
    T.final(run.model)
