"""LightningCLI fit: two --config files and command-line overrides (later wins), before_fit /
after_fit, the saved config.yaml, the run."""

import sys
from pathlib import Path

from harness import RecordingCallback, T, imp, note_cli_config, trainer_state
from models import DataModule, ScaledNet

cli = imp("cli")


class CLI(cli.LightningCLI):
    def before_fit(self) -> None:
        T.note("before_fit", [self.trainer.current_epoch, self.trainer.max_epochs])

    def after_fit(self) -> None:
        T.note("after_fit", [self.trainer.current_epoch, self.trainer.global_step])


def main() -> None:
    Path("a.yaml").write_text(
        "trainer:\n  max_epochs: 5\n  enable_model_summary: false\n"
        "model:\n  scale: 2.0\n  lr: 0.5\ndata:\n  batch_size: 8\n"
    )
    Path("b.yaml").write_text("model:\n  lr: 0.05\n")
    sys.argv = ["train.py", "fit", "--config", "a.yaml", "--config", "b.yaml"]
    sys.argv += ["--trainer.max_epochs=2", "--trainer.limit_train_batches=3"]
    sys.argv += ["--trainer.logger=false", "--trainer.enable_checkpointing=false"]
    run = CLI(
        ScaledNet,
        DataModule,
        seed_everything_default=3,
        load_from_checkpoint_support=False,
        trainer_defaults={"callbacks": [RecordingCallback()], "enable_progress_bar": False},
    )
    T.note("subcommand", run.subcommand)
    T.note("hparams", dict(run.model.hparams))
    T.note("batch_size", run.datamodule.batch_size)
    T.note("state", trainer_state(run.trainer))
    # Without a logger the config goes to default_root_dir, the working folder.
    note_cli_config("saved", Path("config.yaml").read_text())
    Path("config.yaml").unlink()  # noted above, package names normalised
    T.final(run.model)
