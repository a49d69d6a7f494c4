"""MLFlowLogger(log_model="all") with save_top_k=2: every checkpoint uploaded when saved (also
those later removed locally), the best one aliased; the default checkpoint folder is
<store>/<experiment id>/<run id>/checkpoints. The Lightning side needs mlflow."""

import os
import shutil

from harness import T, imp, pl
from models import DataModule, Net

REQUIRES = ("mlflow",)  # on the Lightning side too (nox -s compat installs it)

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"

from mlflow.tracking import MlflowClient  # noqa: E402

URI = "file:./mlruns"


def main() -> None:
    logger = imp("loggers").MLFlowLogger(tracking_uri=URI, log_model="all")
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=2, save_last=True)
    trainer = pl.Trainer(
        max_epochs=4,
        logger=logger,
        callbacks=[ckpt],
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Net(), datamodule=DataModule())  # not T.fit: the state holds the random ids
    T.note("best", os.path.basename(ckpt.best_model_path))
    T.note("kept", sorted(os.path.basename(p) for p in ckpt.best_k_models))
    parts = os.path.relpath(ckpt.dirpath, "mlruns").split(os.sep)
    T.note("dirpath", [parts[0] == logger.name, parts[1] == logger.version, parts[2:]])
    client = MlflowClient(URI)
    uploads = {}
    for folder in client.list_artifacts(logger.run_id):
        files = sorted(
            i.path.split("/")[-1] for i in client.list_artifacts(logger.run_id, folder.path)
        )
        local = client.download_artifacts(logger.run_id, f"{folder.path}/aliases.txt", "down")
        with open(local) as f:
            uploads[folder.path] = [files, f.read()]
    T.note("uploads", dict(sorted(uploads.items())))
    shutil.rmtree("mlruns")
    shutil.rmtree("down")
