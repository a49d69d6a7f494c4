"""WandbLogger in an offline fit (WANDB_MODE=offline): version before and after the run starts,
name, save_dir, the checkpoint folder <save_dir>/<project>/<run id>/checkpoints, the run's config
(Lightning's rules for callables and non-JSON values) and summary, log_text / log_table.
The Lightning side needs wandb."""

import os
import shutil

import torch
from harness import T, imp
from models import DataModule, Net, quiet_trainer

REQUIRES = ("wandb",)  # on the Lightning side too (nox -s compat installs it)

os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
for _var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
    os.environ[_var] = os.path.abspath(os.path.join("wandb-home", _var.lower()))

import wandb  # noqa: E402


class Model(Net):
    def __init__(self, lr: float = 0.1, nested: dict | None = None) -> None:
        super().__init__(lr)
        self.save_hyperparameters()

    def setup(self, stage: str) -> None:
        T.note("run at setup", wandb.run is not None and wandb.run.id == self.logger.version)

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self.logger.log_text("notes", columns=["epoch"], data=[[str(self.current_epoch)]])


def main() -> None:
    logger = imp("loggers").WandbLogger(project="proj", version="fixedid", name="first")
    T.note("version before", logger.version)
    T.note("name", logger.name)
    T.note("save_dir", logger.save_dir)
    trainer = quiet_trainer(logger=logger, log_every_n_steps=2, enable_progress_bar=False)
    T.fit(trainer, Model(nested={"a": [1, 2]}), datamodule=DataModule())
    # by hand: classes by name, callables called (their name when that fails), str() for the rest
    logger.log_hyperparams({"act": torch.nn.ReLU, "fn": len, "dev": torch.device("cpu")})
    run = logger.experiment
    T.note("run", [run.id, run.name, run.project])
    T.note("config", {k: v for k, v in sorted(dict(run.config).items())})
    summary = dict(run.summary)
    T.note(
        "summary",
        {k: summary[k] for k in sorted(summary) if not k.startswith("_") and k != "notes"},
    )
    T.note("notes logged", summary["notes"]["_type"])
    wandb.finish()
    folders = os.listdir("wandb")
    T.note(
        "offline runs",
        sorted(
            n.split("-")[0] + "-" + n.split("-")[1] for n in folders if n.startswith("offline-run-")
        ),
    )
    shutil.rmtree("wandb")  # its folder names carry the time
    shutil.rmtree("wandb-home", ignore_errors=True)
