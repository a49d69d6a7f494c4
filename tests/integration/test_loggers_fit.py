"""``Trainer.fit`` with MLFlowLogger (a local file store) and WandbLogger (offline), end to end:
what a user reads back with mlflow's client and from the wandb run folder."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl


class Net(pl.LightningModule):
    def __init__(self, lr: float = 0.1, nested: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(2, 1)
        self.seen_at_setup: Any = "not called"
        self.fail_at_step: int | None = None

    def setup(self, stage: str) -> None:
        # Lightning starts every logger's run before the setup hooks
        self.seen_at_setup = self.trainer.logger.version

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if self.global_step == self.fail_at_step:
            raise RuntimeError("boom")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _fit(logger: Any, root: Path, model: Net | None = None, **kwargs: Any) -> tuple[Net, Any]:
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(16, 2), torch.randn(16, 1))
    model = model or Net(nested={"a": 1, "b": [1, 2]})
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=1)
    trainer = pl.Trainer(
        max_epochs=2,
        logger=logger,
        callbacks=[ckpt],
        log_every_n_steps=2,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=root,
        **kwargs,
    )
    trainer.fit(model, DataLoader(data, batch_size=4), DataLoader(data, batch_size=8))
    return model, ckpt


# --- MLflow -----------------------------------------------------------------------------------
@pytest.fixture
def mlflow_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # mlflow 3 asks for file stores
    return f"file:{tmp_path / 'mlruns'}"


def _artifacts(client: Any, run_id: str, path: str | None = None) -> list[str]:
    found: list[str] = []
    for info in client.list_artifacts(run_id, path):
        found += _artifacts(client, run_id, info.path) if info.is_dir else [info.path]
    return sorted(found)


def test_mlflow_fit(tmp_path: Path, mlflow_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    logger = pl.loggers.MLFlowLogger("exp", run_name="r", tracking_uri=mlflow_uri, log_model=True)
    model, ckpt = _fit(logger, tmp_path)
    client = MlflowClient(mlflow_uri)
    run = client.get_run(logger.run_id)
    assert model.seen_at_setup == logger.run_id
    assert run.info.status == "FINISHED" and run.info.run_name == "r"
    assert run.data.params == {"lr": "0.1", "nested/a": "1", "nested/b": "[1, 2]"}

    def steps(key: str) -> list[int]:
        return sorted(m.step for m in client.get_metric_history(logger.run_id, key))

    assert steps("train_loss") == [1, 3, 5, 7]  # log_every_n_steps=2, 4 batches per epoch
    assert steps("val_loss") == [3, 7]
    assert set(run.data.metrics) == {"train_loss", "val_loss", "epoch"}
    # checkpoints go under the store: <save_dir>/<experiment id>/<run id>/checkpoints
    assert ckpt.dirpath == os.path.join(logger.save_dir, logger.name, logger.version, "checkpoints")
    stem = Path(ckpt.best_model_path).stem
    assert stem == "epoch=1-step=8"
    assert _artifacts(client, logger.run_id) == [
        f"{stem}/aliases.txt",
        f"{stem}/{stem}.ckpt",
        f"{stem}/metadata.yaml",
    ]


def test_mlflow_failed_fit_marks_the_run_failed(tmp_path: Path, mlflow_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    logger = pl.loggers.MLFlowLogger(tracking_uri=mlflow_uri)
    model = Net()
    model.fail_at_step = 2
    with pytest.raises(RuntimeError, match="boom"):
        _fit(logger, tmp_path, model)
    run = MlflowClient(mlflow_uri).get_run(logger.run_id)
    assert run.info.status == "FAILED"
    assert [
        m.step for m in MlflowClient(mlflow_uri).get_metric_history(run.info.run_id, "train_loss")
    ] == [1]


def test_mlflow_log_model_all_uploads_every_best(tmp_path: Path, mlflow_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    logger = pl.loggers.MLFlowLogger(tracking_uri=mlflow_uri, log_model="all")
    _fit(logger, tmp_path)
    uploaded = {p.split("/")[0] for p in _artifacts(MlflowClient(mlflow_uri), logger.run_id)}
    assert uploaded == {"epoch=0-step=4", "epoch=1-step=8"}


# --- W&B --------------------------------------------------------------------------------------
@pytest.fixture
def wandb_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home" / var.lower()))
    yield wandb
    wandb.finish()
    # wandb's background service outlives runs, and processes this pytest run starts later
    # would inherit it (with its working folder)
    wandb.teardown()


def test_wandb_fit(tmp_path: Path, wandb_offline: Any) -> None:
    from packages.pllog.tests import wandb_records as wr

    save_dir = tmp_path / "wb"
    save_dir.mkdir()
    logger = pl.loggers.WandbLogger(
        project="proj", save_dir=save_dir, version="run1", log_model="all"
    )
    model, ckpt = _fit(logger, tmp_path)
    assert model.seen_at_setup == "run1"
    assert ckpt.dirpath == os.path.join(str(save_dir), "proj", "run1", "checkpoints")
    wandb_offline.finish()
    path = wr.run_file(save_dir)
    assert wr.config(path) == {"lr": 0.1, "nested": {"a": 1, "b": [1, 2]}}
    rows = [{k: v for k, v in r.items() if k != "_step"} for r in wr.history(path)]
    assert [(r["trainer/global_step"], sorted(r)) for r in rows] == [
        (1, ["epoch", "train_loss", "trainer/global_step"]),
        (3, ["epoch", "train_loss", "trainer/global_step"]),
        (3, ["epoch", "trainer/global_step", "val_loss"]),
        (5, ["epoch", "train_loss", "trainer/global_step"]),
        (7, ["epoch", "train_loss", "trainer/global_step"]),
        (7, ["epoch", "trainer/global_step", "val_loss"]),
    ]
    models = [a for a in wr.of_kind(path, "artifact") if a.type == "model"]
    assert [(a.name, json.loads(a.metadata)["original_filename"]) for a in models] == [
        ("model-run1", "epoch=0-step=4.ckpt"),
        ("model-run1", "epoch=1-step=8.ckpt"),
    ]


# --- Comet ------------------------------------------------------------------------------------
def test_comet_offline_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import zipfile

    if importlib.util.find_spec("comet_ml") is None:
        pytest.skip("comet_ml is not installed")
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    monkeypatch.setenv("COMET_CONFIG", str(tmp_path / "no.comet.config"))
    monkeypatch.setenv("COMET_DISABLE_AUTO_LOGGING", "1")
    monkeypatch.setenv("COMET_ERROR_TRACKING_ENABLE", "false")  # no error reports to the network
    folder = tmp_path / "comet"
    logger = pl.loggers.CometLogger(project="proj", online=False, offline_directory=str(folder))
    model, ckpt = _fit(logger, tmp_path)
    assert model.seen_at_setup == logger.version
    assert ckpt.dirpath == os.path.join(str(folder), "proj", logger.version, "checkpoints")
    logger.experiment.end()
    (archive,) = folder.glob("*.zip")
    with zipfile.ZipFile(archive) as f:
        messages = [json.loads(line) for line in f.read("messages.json").decode().splitlines()]
    metrics = [m["payload"]["metric"] for m in messages if m["type"] == "metric_msg"]
    assert [(m["step"], m["epoch"]) for m in metrics if m["metricName"] == "train_loss"] == [
        (1, 0),
        (3, 0),
        (5, 1),
        (7, 1),
    ]
    params = {
        m["payload"]["param"]["paramName"]: m["payload"]["param"]["paramValue"]
        for m in messages
        if m["type"] == "parameter_msg" and m["payload"].get("param", {}).get("source") == "manual"
    }
    assert {k: params.get(k) for k in ("lr", "nested|a")} == {"lr": 0.1, "nested|a": 1}
