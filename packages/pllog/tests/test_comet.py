"""CometLogger offline (no API key, no network): what the offline experiment's archive holds."""

from __future__ import annotations

import importlib.util
import json
import logging
import zipfile
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
import torch

if importlib.util.find_spec("comet_ml") is None:
    pytest.skip("comet_ml is not installed", allow_module_level=True)

from pllog import CometLogger  # noqa: E402
from pllog.logger import _DummyExperiment  # noqa: E402


@pytest.fixture(autouse=True)
def _no_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    monkeypatch.setenv("COMET_CONFIG", str(tmp_path / "no.comet.config"))
    monkeypatch.setenv("COMET_DISABLE_AUTO_LOGGING", "1")
    monkeypatch.setenv("COMET_ERROR_TRACKING_ENABLE", "false")  # no error reports to the network


def _messages(folder: Path) -> list[dict[str, Any]]:
    (archive,) = folder.glob("*.zip")
    with zipfile.ZipFile(archive) as f:
        return [json.loads(line) for line in f.read("messages.json").decode().splitlines()]


def _logged(folder: Path) -> tuple[dict[str, Any], list[tuple[str, Any, Any, Any]], dict[str, Any]]:
    params: dict[str, Any] = {}
    metrics: list[tuple[str, Any, Any, Any]] = []
    others: dict[str, Any] = {}
    for m in _messages(folder):
        p = m["payload"]
        if m["type"] == "parameter_msg" and p.get("param", {}).get("source") == "manual":
            params[p["param"]["paramName"]] = p["param"]["paramValue"]
        elif m["type"] == "metric_msg" and not p["metric"]["metricName"].startswith("sys."):
            mt = p["metric"]
            metrics.append((mt["metricName"], mt["metricValue"], mt["step"], mt.get("epoch")))
        elif m["type"] == "log_other":
            others[p["key"]] = p["value"]
    return params, metrics, others


def test_offline_experiment_holds_params_and_metrics(tmp_path: Path) -> None:
    folder = tmp_path / "comet"
    logger = CometLogger(project="proj", online=False, offline_directory=str(folder), prefix="fit")
    assert logger.name == "proj" and logger.save_dir == str(folder)
    assert logger.version == logger.experiment.get_key()  # the experiment exists already
    logger.log_hyperparams({"lr": 0.1, "net": {"depth": 2}})
    logger.log_hyperparams(Namespace(batch=16))
    logger.log_metrics({"loss": torch.tensor(0.5), "epoch": 0}, step=3)
    logger.log_metrics({"loss": 0.25}, step=4)
    logger.finalize("success")
    logger.experiment.end()
    params, metrics, others = _logged(folder)
    assert params == {"lr": 0.1, "net|depth": 2, "batch": 16}
    assert [m for m in metrics if m[0] == "fit_loss"] == [
        ("fit_loss", 0.5, 3, 0),
        ("fit_loss", 0.25, 4, 0),
    ]
    assert not any(m[0].endswith("epoch") for m in metrics)  # epoch is the metrics' epoch
    assert others["Created from"] == "pytorch-lightning"


def test_old_argument_names_are_accepted_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pllog.comet"):
        logger = CometLogger(
            project_name="old", online=False, save_dir=str(tmp_path / "c"), experiment_name="e"
        )
    assert (
        "The parameter `project_name` is deprecated, please use `project` instead." in caplog.text
    )
    assert "The parameter `save_dir` is deprecated" in caplog.text
    assert "The parameter `experiment_name` is deprecated" in caplog.text
    assert logger.name == "old" and logger.save_dir == str(tmp_path / "c")
    assert logger.experiment.get_name() == "e"
    logger.experiment.end()


def test_other_ranks_build_no_experiment(tmp_path: Path, nonzero_rank: None) -> None:
    logger = CometLogger(project="p", online=False, offline_directory=str(tmp_path / "c"))
    assert logger.version is None
    assert isinstance(logger.experiment, _DummyExperiment)
    logger.log_metrics({"a": 1.0}, step=0)
    logger.finalize("success")
    assert not (tmp_path / "c").exists()
