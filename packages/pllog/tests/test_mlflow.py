"""MLFlowLogger against a real local file store, read back with mlflow's own client."""

from __future__ import annotations

import logging
import os
from argparse import Namespace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

mlflow = pytest.importorskip("mlflow")

from mlflow.tracking import MlflowClient  # noqa: E402

from pllog import MLFlowLogger  # noqa: E402
from pllog.logger import _DummyExperiment  # noqa: E402


@pytest.fixture(autouse=True)
def _file_store(monkeypatch: pytest.MonkeyPatch) -> None:
    # mlflow 3 refuses file stores unless told they are wanted; the tests use one on purpose.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _uri(tmp_path: Path) -> str:
    return f"file:{tmp_path / 'mlruns'}"


def test_run_is_created_lazily_and_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    logger = MLFlowLogger("exp", run_name="first", tracking_uri=_uri(tmp_path), tags={"k": "v"})
    client = MlflowClient(_uri(tmp_path))
    assert client.get_experiment_by_name("exp") is None  # nothing before first use
    with caplog.at_level(logging.WARNING, logger="pllog.mlflow"):
        run_id = logger.version
    assert "Experiment with name exp not found. Creating it." in caplog.text
    run = client.get_run(run_id)
    assert (
        logger.name == run.info.experiment_id == client.get_experiment_by_name("exp").experiment_id
    )
    assert run.info.run_name == "first"
    assert run.data.tags["k"] == "v"
    assert run.data.tags["mlflow.runName"] == "first"
    assert "mlflow.source.name" in run.data.tags  # mlflow's own context tags are resolved
    assert run.info.status == "RUNNING"
    # a second logger finds the experiment and starts a second run in it
    other = MLFlowLogger("exp", tracking_uri=_uri(tmp_path))
    assert other.name == logger.name and other.version != run_id


def test_run_name_overrides_tag_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logger = MLFlowLogger(
        run_name="mine", tracking_uri=_uri(tmp_path), tags={"mlflow.runName": "theirs"}
    )
    with caplog.at_level(logging.WARNING, logger="pllog.mlflow"):
        _ = logger.experiment
    assert (
        "The tag mlflow.runName is found in tags. The value will be overridden by mine."
        in caplog.text
    )
    assert MlflowClient(_uri(tmp_path)).get_run(logger.run_id).info.run_name == "mine"


def test_save_dir_is_the_file_store(tmp_path: Path) -> None:
    logger = MLFlowLogger(save_dir=str(tmp_path / "store"))
    assert logger.save_dir == str(tmp_path / "store")
    assert MLFlowLogger(tracking_uri="http://localhost:1").save_dir is None
    # mlflow's client makes the store when built; the experiment and run wait for first use
    assert (
        MlflowClient(f"file:{tmp_path / 'store'}").get_experiment_by_name("lightning_logs") is None
    )


def test_hyperparams_flattened_and_truncated(tmp_path: Path) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path))
    params: dict[str, Any] = {
        "lr": 0.1,
        "net": {"layers": 2, "act": "relu"},
        "ns": Namespace(a=1),
        "dl": [{"b": 1}, {"c": 2}],
        "plain": [1, 2],
        "empty": {},
        "long": "x" * 300,
        **{f"p{i}": i for i in range(120)},  # more than one batch of 100
    }
    logger.log_hyperparams(params)
    got = MlflowClient(_uri(tmp_path)).get_run(logger.run_id).data.params
    assert got["lr"] == "0.1"
    assert got["net/layers"] == "2" and got["net/act"] == "relu"
    assert got["ns/a"] == "1"
    assert got["dl/0/b"] == "1" and got["dl/1/c"] == "2"
    assert got["plain"] == "[1, 2]"
    assert "empty" not in got
    assert got["long"] == "x" * 250
    assert got["p119"] == "119"
    assert len(got) == 8 + 120


def test_hyperparams_from_namespace(tmp_path: Path) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path))
    logger.log_hyperparams(Namespace(batch_size=32))
    assert MlflowClient(_uri(tmp_path)).get_run(logger.run_id).data.params == {"batch_size": "32"}


def test_metrics_steps_prefix_and_sanitising(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path), prefix="train")
    logger.log_metrics({"loss": torch.tensor(0.5), "acc": 0.25}, step=3)
    logger.log_metrics({"loss": 0.4})  # no step: 0
    with pytest.warns(RuntimeWarning, match=r"Replacing train-val\(x\)@1 with train-valx1\."):
        logger.log_metrics({"val(x)@1": 1.0}, step=7)
    with caplog.at_level(logging.WARNING, logger="pllog.mlflow"):
        logger.log_metrics({"note": "text"}, step=8)
    assert "Discarding metric with string value train-note=text." in caplog.text
    client = MlflowClient(_uri(tmp_path))
    history = client.get_metric_history(logger.run_id, "train-loss")
    assert sorted((m.step, pytest.approx(m.value)) for m in history) == [(0, 0.4), (3, 0.5)]
    assert [(m.step, m.value) for m in client.get_metric_history(logger.run_id, "train-valx1")] == [
        (7, 1.0)
    ]
    assert set(client.get_run(logger.run_id).data.metrics) == {
        "train-loss",
        "train-acc",
        "train-valx1",
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [("success", "FINISHED"), ("failed", "FAILED"), ("finished", "FINISHED")],
)
def test_finalize_status(tmp_path: Path, status: str, expected: str) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path))
    logger.log_metrics({"a": 1.0}, step=0)
    logger.finalize(status)
    run = MlflowClient(_uri(tmp_path)).get_run(logger.run_id)
    assert run.info.status == expected
    assert run.info.end_time is not None


def test_finalize_without_a_run_creates_nothing(tmp_path: Path) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path))
    logger.finalize("success")
    assert MlflowClient(_uri(tmp_path)).get_experiment_by_name("lightning_logs") is None


def test_existing_run_id_is_continued(tmp_path: Path) -> None:
    first = MLFlowLogger("exp", tracking_uri=_uri(tmp_path))
    first.log_metrics({"a": 1.0}, step=0)
    again = MLFlowLogger(tracking_uri=_uri(tmp_path), run_id=first.run_id)
    assert again.name == first.name  # the run's experiment, not "lightning_logs"
    again.log_metrics({"a": 2.0}, step=1)
    history = MlflowClient(_uri(tmp_path)).get_metric_history(first.run_id, "a")
    assert sorted(m.step for m in history) == [0, 1]


def test_deleted_experiment_is_recreated_under_a_new_id(tmp_path: Path) -> None:
    client = MlflowClient(_uri(tmp_path))
    old = client.create_experiment("exp")
    client.delete_experiment(old)
    # mlflow refuses a second experiment with a deleted one's name: the error is mlflow's.
    with pytest.raises(mlflow.exceptions.MlflowException):
        _ = MLFlowLogger("exp", tracking_uri=_uri(tmp_path)).experiment


def test_other_ranks_get_a_dummy_experiment(tmp_path: Path, nonzero_rank: None) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path))
    assert isinstance(logger.experiment, _DummyExperiment)
    logger.log_metrics({"a": 1.0}, step=0)
    logger.log_hyperparams({"a": 1})
    assert MlflowClient(_uri(tmp_path)).get_experiment_by_name("lightning_logs") is None


def test_synchronous_is_passed_to_log_batch(tmp_path: Path) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path), synchronous=True)
    logger.log_metrics({"a": 1.0}, step=0)
    assert MlflowClient(_uri(tmp_path)).get_run(logger.run_id).data.metrics == {"a": 1.0}


def test_bad_log_model_is_refused() -> None:
    with pytest.raises(ValueError, match="log_model"):
        MLFlowLogger(log_model="best")  # type: ignore[arg-type]


def _checkpoint_callback(tmp_path: Path, save_top_k: int = 1) -> SimpleNamespace:
    path = tmp_path / "ckpts" / "epoch=0-step=2.ckpt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    return SimpleNamespace(
        monitor="val_loss",
        mode="min",
        save_last=None,
        save_top_k=save_top_k,
        save_weights_only=False,
        every_n_train_steps=0,
        best_model_path=str(path),
        best_model_score=torch.tensor(0.25),
        last_model_path="",
        current_score=torch.tensor(0.25),
        best_k_models={str(path): torch.tensor(0.25)},
    )


def _artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    found: list[str] = []
    for info in client.list_artifacts(run_id, path):
        found += _artifacts(client, run_id, info.path) if info.is_dir else [info.path]
    return sorted(found)


@pytest.mark.parametrize("prefix", ["", "ckpts"])
def test_log_model_all_uploads_at_once(tmp_path: Path, prefix: str) -> None:
    import yaml

    logger = MLFlowLogger(
        tracking_uri=_uri(tmp_path), log_model="all", checkpoint_path_prefix=prefix
    )
    callback = _checkpoint_callback(tmp_path)
    logger.after_save_checkpoint(callback)
    client = MlflowClient(_uri(tmp_path))
    base = os.path.join(prefix, "epoch=0-step=2") if prefix else "epoch=0-step=2"
    assert _artifacts(client, logger.run_id) == [
        f"{base}/aliases.txt",
        f"{base}/epoch=0-step=2.ckpt",
        f"{base}/metadata.yaml",
    ]
    folder = client.download_artifacts(logger.run_id, base, str(tmp_path / "down"))
    assert Path(folder, "aliases.txt").read_text() == "['latest', 'best']"
    assert yaml.safe_load(Path(folder, "metadata.yaml").read_text()) == {
        "score": 0.25,
        "original_filename": "epoch=0-step=2.ckpt",
        "Checkpoint": {
            "monitor": "val_loss",
            "mode": "min",
            "save_last": None,
            "save_top_k": 1,
            "save_weights_only": False,
            "_every_n_train_steps": 0,
        },
    }
    # the same unchanged file is not uploaded twice
    logger.after_save_checkpoint(callback)
    assert len(_artifacts(client, logger.run_id)) == 3


def test_log_model_true_waits_for_finalize(tmp_path: Path) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path), log_model=True)
    logger.after_save_checkpoint(_checkpoint_callback(tmp_path))
    client = MlflowClient(_uri(tmp_path))
    assert _artifacts(client, logger.run_id) == []
    logger.finalize("success")
    assert len(_artifacts(client, logger.run_id)) == 3


def test_log_model_true_with_top_k_minus_one_uploads_at_once(tmp_path: Path) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path), log_model=True)
    logger.after_save_checkpoint(_checkpoint_callback(tmp_path, save_top_k=-1))
    assert len(_artifacts(MlflowClient(_uri(tmp_path)), logger.run_id)) == 3


def test_log_model_false_uploads_nothing(tmp_path: Path) -> None:
    logger = MLFlowLogger(tracking_uri=_uri(tmp_path))
    logger.after_save_checkpoint(_checkpoint_callback(tmp_path))
    logger.finalize("success")
    assert _artifacts(MlflowClient(_uri(tmp_path)), logger.run_id) == []


def test_pickled_logger_keeps_its_run(tmp_path: Path) -> None:
    import pickle

    logger = MLFlowLogger(tracking_uri=_uri(tmp_path))
    logger.log_metrics({"a": 1.0}, step=0)
    copy = pickle.loads(pickle.dumps(logger))
    copy.log_metrics({"a": 2.0}, step=1)
    assert copy.run_id == logger.run_id
    assert len(MlflowClient(_uri(tmp_path)).get_metric_history(logger.run_id, "a")) == 2
