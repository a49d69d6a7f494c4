"""WandbLogger with wandb in offline mode: what the run's ``.wandb`` file and folder hold."""

from __future__ import annotations

import os
import warnings
from argparse import Namespace
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

wandb = pytest.importorskip("wandb")

from packages.pllog.tests import wandb_records as wr  # noqa: E402

from plcore.utilities.exceptions import MisconfigurationException  # noqa: E402
from pllog import WandbLogger  # noqa: E402
from pllog.logger import _DummyExperiment  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _own_service() -> Iterator[None]:
    # wandb's background service outlives runs, and child processes started later by this
    # pytest process would inherit it (with its working folder): stop it after this module.
    yield
    wandb.teardown()


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # No network, and nothing written outside the test's folder.
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home" / var.lower()))
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    yield
    wandb.finish()


def test_version_does_not_start_a_run(tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=tmp_path, id="given")
    assert logger.version == "given"
    assert WandbLogger(save_dir=tmp_path).version is None
    assert wandb.run is None
    assert not (tmp_path / "wandb").exists()
    assert logger.name == "lightning_logs"
    assert logger.save_dir == str(tmp_path)


def test_experiment_starts_an_offline_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_PROJECT", "from-env")
    logger = WandbLogger(name="first", save_dir=tmp_path, version="abc123")
    run = logger.experiment
    assert run is wandb.run and run.id == "abc123" == logger.version
    assert run.name == "first" and run.project == "from-env" == logger.name
    folder = Path(run.dir).parent
    assert folder.parent == tmp_path / "wandb" and folder.name.startswith("offline-run-")
    assert logger.experiment is run  # created once
    wandb.finish()
    metrics = wr.of_kind(wr.run_file(tmp_path), "metric")
    assert [(m.name, m.glob_name, m.step_metric, m.options.step_sync) for m in metrics] == [
        ("trainer/global_step", "", "", False),
        ("", "*", "trainer/global_step", True),
    ]


def test_sync_tensorboard_uses_global_step(tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=tmp_path, sync_tensorboard=True)
    _ = logger.experiment
    logger.log_metrics({"a": 1.0}, step=3)  # no trainer/global_step key with sync_tensorboard
    wandb.finish()
    path = wr.run_file(tmp_path)
    assert [(m.glob_name, m.step_metric) for m in wr.of_kind(path, "metric")] == [
        ("*", "global_step")
    ]
    assert wr.history(path) == [{"a": 1.0, "global_step": 0, "_step": 0}]  # wandb's own key


def test_offline_sets_dryrun(tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=tmp_path, offline=True)
    _ = logger.experiment
    assert os.environ["WANDB_MODE"] == "dryrun"
    assert wr.run_file(tmp_path)


def test_offline_with_log_model_is_refused() -> None:
    with pytest.raises(MisconfigurationException, match="log_model=True and offline=True"):
        WandbLogger(offline=True, log_model=True)


def test_hyperparams_and_metrics(tmp_path: Path) -> None:
    def factory() -> float:
        return 0.5

    logger = WandbLogger(save_dir=tmp_path, prefix="fit", config={"seed": 1})
    logger.log_hyperparams(
        {
            "lr": 0.1,
            "opt": torch.optim.SGD,
            "fn": len,
            "factory": factory,
            "dev": torch.device("cpu"),
        }
    )
    logger.log_hyperparams(Namespace(lr=0.2))  # values may change
    logger.log_metrics({"loss": torch.tensor(0.5)}, step=3)
    logger.log_metrics({"loss": 0.25})
    wandb.finish()
    path = wr.run_file(tmp_path)
    assert wr.config(path) == {
        "seed": 1,
        "lr": 0.2,
        "opt": "SGD",
        "fn": "len",
        "factory": 0.5,
        "dev": "cpu",
    }
    assert wr.history(path) == [
        {"fit-loss": 0.5, "trainer/global_step": 3, "_step": 0},
        # no step given: the row has none of its own; wandb's step_sync repeats the last one
        {"fit-loss": 0.25, "trainer/global_step": 3, "_step": 1},
    ]


def test_tables_text_and_images(tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=tmp_path)
    logger.log_table("tab", columns=["a", "b"], data=[[1, 2]], step=1)
    logger.log_text("txt", columns=["t"], data=[["hello"]], step=2)
    logger.log_image("img", [torch.zeros(3, 4, 4), torch.ones(3, 4, 4)], step=3, caption=["z", "o"])
    with pytest.raises(TypeError, match='Expected a list as "images"'):
        logger.log_image("img", torch.zeros(3, 4, 4))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Expected 2 items but only found 1 for caption"):
        logger.log_image("img", [torch.zeros(3, 4, 4)] * 2, caption=["one"])
    run_dir = Path(logger.experiment.dir)
    wandb.finish()
    rows = wr.history(wr.run_file(tmp_path))
    assert [r["trainer/global_step"] for r in rows] == [1, 2, 3]
    assert rows[0]["tab/_type"] == "table-file" and rows[0]["tab/ncols"] == 2
    assert rows[1]["txt/_type"] == "table-file" and rows[1]["txt/nrows"] == 1
    assert rows[2]["img/_type"] == "images/separated" and rows[2]["img/count"] == 2
    assert rows[2]["img/captions"] == ["z", "o"]
    media = sorted(p.relative_to(run_dir).parts[:2] for p in (run_dir / "media").rglob("*.*"))
    assert media.count(("media", "table")) == 2 and media.count(("media", "images")) == 2


def test_existing_run_is_reused_with_warning(tmp_path: Path) -> None:
    run = wandb.init(dir=str(tmp_path), project="mine")
    with pytest.warns(UserWarning, match="There is a wandb run already in progress"):
        assert WandbLogger(save_dir=tmp_path).experiment is run


def test_given_experiment_is_used(tmp_path: Path) -> None:
    run = wandb.init(dir=str(tmp_path), project="mine")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert WandbLogger(experiment=run).experiment is run


def test_other_ranks_get_a_dummy_experiment(tmp_path: Path, nonzero_rank: None) -> None:
    logger = WandbLogger(save_dir=tmp_path)
    assert isinstance(logger.experiment, _DummyExperiment)
    logger.log_metrics({"a": 1.0}, step=0)
    logger.watch(torch.nn.Linear(1, 1))
    assert wandb.run is None


def test_watch_logs_gradients_and_parameters(tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=tmp_path)
    model = torch.nn.Linear(2, 1)
    logger.watch(model, log="all", log_freq=1)
    model(torch.ones(1, 2)).sum().backward()
    logger.log_metrics({"a": 1.0}, step=0)
    wandb.finish()
    (row,) = wr.history(wr.run_file(tmp_path))
    for name in ("gradients/weight", "gradients/bias", "parameters/weight", "parameters/bias"):
        assert row[f"{name}/_type"] == "histogram"


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


def _artifacts(tmp_path: Path) -> list[tuple[str, str, list[str]]]:
    found = wr.of_kind(wr.run_file(tmp_path), "artifact")
    return [(a.name, a.type, sorted(a.aliases)) for a in found if a.type == "model"]


def test_log_model_all_logs_an_artifact_per_new_checkpoint(tmp_path: Path) -> None:
    # WANDB_MODE=offline with offline=False: wandb keeps artifacts for a later sync.
    logger = WandbLogger(save_dir=tmp_path, log_model="all", version="r1")
    callback = _checkpoint_callback(tmp_path)
    logger.after_save_checkpoint(callback)
    logger.after_save_checkpoint(callback)  # unchanged: not logged again
    wandb.finish()
    assert _artifacts(tmp_path) == [("model-r1", "model", ["best", "latest"])]


def test_log_model_true_waits_for_a_successful_end(tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=tmp_path, log_model=True, checkpoint_name="ckpt")
    _ = logger.experiment  # the Trainer starts the run at setup; finalize needs one
    logger.after_save_checkpoint(_checkpoint_callback(tmp_path))
    logger.finalize("failed")
    logger.finalize("success")
    wandb.finish()
    assert _artifacts(tmp_path) == [("ckpt", "model", ["best", "latest"])]


def test_log_model_false_logs_nothing(tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=tmp_path)
    logger.after_save_checkpoint(_checkpoint_callback(tmp_path))
    logger.finalize("success")
    _ = logger.experiment
    wandb.finish()
    assert _artifacts(tmp_path) == []


def test_pickled_logger_reattaches_to_the_run(tmp_path: Path) -> None:
    import pickle

    logger = WandbLogger(save_dir=tmp_path, version="pick1")
    data = pickle.dumps(logger)  # starts the run, so a spawned copy can attach to it
    assert wandb.run is not None and wandb.run.id == "pick1"
    copy = pickle.loads(data)
    assert copy.version == "pick1" and copy._experiment is None
    with pytest.warns(UserWarning, match="There is a wandb run already in progress"):
        assert copy.experiment is wandb.run  # in this process the open run is reused
