from __future__ import annotations

import csv
import os
from argparse import Namespace
from pathlib import Path

import pytest
import torch

from pllog import CSVLogger
from pllog._hparams_io import load_hparams_from_yaml
from pllog.csv import ExperimentWriter
from pllog.logger import _DummyExperiment


def _rows(path: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_header_is_the_sorted_union_with_step(tmp_path: Path) -> None:
    logger = CSVLogger(tmp_path)
    logger.log_metrics({"zeta": 1.0, "alpha": torch.tensor(2.0)}, step=0)
    logger.log_metrics({"alpha": 3.0}, step=1)
    logger.save()
    header, rows = _rows(os.path.join(logger.log_dir, "metrics.csv"))
    assert header == ["alpha", "step", "zeta"]  # sorted, step included, as Lightning writes it
    assert rows == [
        {"step": "0", "alpha": "2.0", "zeta": "1.0"},
        {"step": "1", "alpha": "3.0", "zeta": ""},
    ]


def test_new_key_after_rows_were_written_rewrites_the_file(tmp_path: Path) -> None:
    logger = CSVLogger(tmp_path)
    logger.log_metrics({"loss": 1.0}, step=0)
    logger.save()
    logger.log_metrics({"loss": 0.5, "acc": 0.9}, step=1)
    logger.log_metrics({"loss": 0.4}, step=2)
    logger.finalize("success")
    path = os.path.join(logger.log_dir, "metrics.csv")
    header, rows = _rows(path)
    assert header == ["acc", "loss", "step"]
    assert [(r["step"], r["acc"], r["loss"]) for r in rows] == [
        ("0", "", "1.0"),
        ("1", "0.9", "0.5"),
        ("2", "", "0.4"),
    ]
    assert not os.path.exists(path + ".tmp")


def test_flush_when_step_plus_one_is_a_multiple(tmp_path: Path) -> None:
    logger = CSVLogger(tmp_path, flush_logs_every_n_steps=3)
    path = os.path.join(logger.log_dir, "metrics.csv")
    for step in range(2):
        logger.log_metrics({"x": float(step)}, step=step * 10)
    assert not os.path.exists(path)  # buffered
    logger.log_metrics({"x": 2.0}, step=20)
    assert len(_rows(path)[1]) == 3  # (20 + 1) % 3 == 0 flushes, as in Lightning
    logger.log_metrics({"x": 3.0}, step=30)
    assert len(_rows(path)[1]) == 3
    logger.finalize("success")
    assert [r["step"] for r in _rows(path)[1]] == ["0", "10", "20", "30"]


def test_step_none_numbers_rows(tmp_path: Path) -> None:
    logger = CSVLogger(tmp_path, flush_logs_every_n_steps=1)
    logger.log_metrics({"x": 1.0})
    logger.log_metrics({"x": 2.0})
    logger.log_metrics({"x": 3.0}, step=5)
    logger.log_metrics({"x": 4.0})
    # Lightning numbers a row without a step by the rows still buffered: each flush restarts it.
    steps = [r["step"] for r in _rows(os.path.join(logger.log_dir, "metrics.csv"))[1]]
    assert steps == ["0", "0", "5", "0"]


def test_prefix(tmp_path: Path) -> None:
    logger = CSVLogger(tmp_path, prefix="val")
    logger.log_metrics({"loss": 1.0}, step=0)
    logger.save()
    assert _rows(os.path.join(logger.log_dir, "metrics.csv"))[0] == ["step", "val-loss"]


def test_hparams_yaml(tmp_path: Path) -> None:
    logger = CSVLogger(tmp_path, name="exp", version="a")
    logger.log_hyperparams(Namespace(lr=0.1, opt={"name": "sgd"}))
    logger.log_hyperparams({"batch_size": 8})
    logger.save()
    assert logger.log_dir == os.path.join(tmp_path, "exp", "a")
    loaded = load_hparams_from_yaml(os.path.join(logger.log_dir, "hparams.yaml"))
    assert loaded == {"lr": 0.1, "opt": {"name": "sgd"}, "batch_size": 8}


def test_versions(tmp_path: Path) -> None:
    first = CSVLogger(tmp_path)
    first.log_metrics({"x": 1.0}, 0)
    assert CSVLogger(tmp_path).version == 1
    assert CSVLogger(tmp_path, version=4).log_dir.endswith("version_4")
    assert CSVLogger(tmp_path, name=None, version=0).log_dir == os.path.join(tmp_path, "version_0")
    assert first.save_dir == os.fspath(tmp_path) and first.name == "lightning_logs"
    assert first.root_dir == os.path.join(tmp_path, "lightning_logs")


def test_reused_version_folder_appends(tmp_path: Path) -> None:
    first = CSVLogger(tmp_path, version=0)
    first.log_metrics({"a": 1.0}, 0)
    first.finalize("success")
    with pytest.warns(UserWarning, match="not empty"):
        second = CSVLogger(tmp_path, version=0)
        second.log_metrics({"b": 2.0}, 1)
    second.finalize("success")
    header, rows = _rows(os.path.join(second.log_dir, "metrics.csv"))
    assert header == ["a", "b", "step"]
    assert rows == [{"step": "0", "a": "1.0", "b": ""}, {"step": "1", "a": "", "b": "2.0"}]


def test_finalize_without_logging_creates_nothing(tmp_path: Path) -> None:
    CSVLogger(tmp_path).finalize("success")
    assert not (tmp_path / "lightning_logs").exists()


def test_other_ranks_write_nothing(tmp_path: Path, nonzero_rank: None) -> None:
    logger = CSVLogger(tmp_path)
    assert isinstance(logger.experiment, _DummyExperiment)
    logger.log_metrics({"x": 1.0}, 0)
    logger.log_hyperparams({"a": 1})
    logger.save()
    logger.finalize("success")
    assert not (tmp_path / "lightning_logs").exists()


def test_experiment_writer_api(tmp_path: Path) -> None:
    writer = ExperimentWriter(str(tmp_path / "v"))
    writer.log_hparams({"a": 1})
    writer.log_metrics({"m": 1.0}, step=3)
    assert writer.metrics == [{"m": 1.0, "step": 3}]
    writer.save()
    assert writer.metrics == [] and writer.metrics_keys == ["m", "step"]
    assert os.path.isfile(writer.metrics_file_path)


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_bad_flush_interval(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ValueError, match="flush_logs_every_n_steps"):
        CSVLogger(tmp_path, flush_logs_every_n_steps=bad)  # type: ignore[arg-type]
