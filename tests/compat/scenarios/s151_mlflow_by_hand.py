"""MLFlowLogger used by hand and in a failing fit: nested / long params flattened and cut to 250
characters, metric names cleaned with a RuntimeWarning, string metrics skipped, steps (None is
0), a run continued by run_id, and FAILED after an exception. The Lightning side needs mlflow."""

import os
import shutil
from argparse import Namespace

from harness import T, imp
from models import Net, loader, quiet_trainer

REQUIRES = ("mlflow",)  # on the Lightning side too (nox -s compat installs it)

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"

from mlflow.tracking import MlflowClient  # noqa: E402

URI = "file:./mlruns"


class Fails(Net):
    def training_step(self, batch, batch_idx):
        if self.global_step == 3:
            raise RuntimeError("boom")
        return super().training_step(batch, batch_idx)


def history(client, run_id):
    run = client.get_run(run_id)
    return {
        key: sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))
        for key in sorted(run.data.metrics)
    }


def main() -> None:
    loggers = imp("loggers")
    client = MlflowClient(URI)
    logger = loggers.MLFlowLogger(tracking_uri=URI, prefix="hand")
    T.note("experiment before use", client.get_experiment_by_name("lightning_logs") is None)
    logger.log_hyperparams(
        {"net": {"depth": 3, "act": "relu"}, "ns": Namespace(k=1), "long": "x" * 300, "none": None}
    )
    logger.log_hyperparams(Namespace(batch_size=16, dl=[{"a": 1}, {"b": 2}], empty={}))
    logger.log_metrics({"loss": 0.5, "acc(top-1)": 0.25, "note": "text"}, step=4)
    logger.log_metrics({"loss": 0.4})
    run_id = logger.run_id
    logger.finalize("success")
    again = loggers.MLFlowLogger(tracking_uri=URI, run_id=run_id)
    again.log_metrics({"late": 1.0}, step=9)
    run = client.get_run(run_id)
    T.note("params", dict(sorted(run.data.params.items())))
    T.note("metrics", history(client, run_id))
    T.note("status", run.info.status)
    T.note("same experiment", again.name == logger.name)

    failing = loggers.MLFlowLogger("broken", tracking_uri=URI)
    trainer = quiet_trainer(logger=failing, enable_checkpointing=False, enable_progress_bar=False)
    try:
        T.fit(trainer, Fails(), train_dataloaders=loader())
    except RuntimeError:
        pass  # recorded by T.fit
    run = client.get_run(failing.run_id)
    T.note("failed status", run.info.status)
    T.note("failed metrics", history(client, failing.run_id))
    shutil.rmtree("mlruns")
