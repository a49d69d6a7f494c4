"""MLFlowLogger in a fit (file store, log_model=True): the run, params, metric histories with
their steps, tags, status and checkpoint artifacts, read back with mlflow's own client. The run
exists before the setup hooks. The Lightning side needs mlflow installed."""

import os
import shutil
import tempfile

from harness import T, imp, pl
from models import DataModule, Net, quiet_trainer

REQUIRES = ("mlflow",)  # on the Lightning side too (nox -s compat installs it)

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # mlflow 3 asks before using a folder store

from mlflow.tracking import MlflowClient  # noqa: E402

STORE = "./mlruns"  # removed at the end: the store's file names are random ids


class Model(Net):
    def __init__(self, lr: float = 0.1, depth: int = 2, extra: dict | None = None) -> None:
        super().__init__(lr)
        self.save_hyperparameters()

    def setup(self, stage: str) -> None:
        # the Trainer has already started the logger's run
        T.note("run at setup", MlflowClient(URI).get_run(self.logger.run_id).info.status)


URI = f"file:{STORE}"


def artifacts(client, run_id, path=None):
    found = []
    for info in client.list_artifacts(run_id, path):
        found += artifacts(client, run_id, info.path) if info.is_dir else [info.path]
    return sorted(found)


def main() -> None:
    loggers = imp("loggers")
    logger = loggers.MLFlowLogger(
        "compat", run_name="first", tracking_uri=URI, tags={"team": "a"}, log_model=True
    )
    # the default folder (<store>/<experiment id>/<run id>/checkpoints) is random: s152 shows it
    ckpt = pl.callbacks.ModelCheckpoint(dirpath="ckpts", monitor="val_loss", save_top_k=1)
    trainer = quiet_trainer(
        logger=logger, callbacks=[ckpt], log_every_n_steps=2, enable_progress_bar=False
    )
    T.fit(trainer, Model(extra={"a": 1, "b": [1, 2]}), datamodule=DataModule())
    client = MlflowClient(URI)
    run = client.get_run(logger.run_id)
    T.note("name is the experiment id", logger.name == run.info.experiment_id)
    T.note("version is the run id", logger.version == run.info.run_id)
    T.note("save_dir", logger.save_dir == STORE)
    T.note("status", run.info.status)
    T.note("run name", run.info.run_name)
    T.note("params", dict(sorted(run.data.params.items())))
    T.note("tags", sorted(k for k in run.data.tags if k != "mlflow.source.name"))
    T.note("team tag", run.data.tags["team"])
    T.note(
        "metrics",
        {
            key: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))
            for key in sorted(run.data.metrics)
        },
    )
    T.note("artifacts", artifacts(client, run.info.run_id))
    stem = os.path.splitext(os.path.basename(ckpt.best_model_path))[0]
    folder = client.download_artifacts(run.info.run_id, stem, tempfile.mkdtemp())
    for name in ("aliases.txt", "metadata.yaml"):
        with open(os.path.join(folder, name)) as f:
            T.note(name, f.read())
    T.note("log_dir is the store", trainer.log_dir == STORE)
    shutil.rmtree(STORE)
