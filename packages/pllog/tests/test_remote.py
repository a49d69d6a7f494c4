"""The loggers on remote storage: ``memory://`` (fsspec's in-process filesystem) and ``file://``
URLs give the same files as a local folder."""

from __future__ import annotations

import contextlib
import csv
import io
import sys
import uuid
from collections.abc import Iterator

import fsspec
import pytest
from fsspec.registry import (
    _registry as _fsspec_registry,
)  # the cache of imported filesystem classes

from pllog import CSVLogger, TensorBoardLogger
from pllog._hparams_io import load_hparams_from_yaml, save_hparams_to_yaml


@pytest.fixture
def memory_root() -> Iterator[str]:
    root = f"memory://pllog-{uuid.uuid4().hex[:8]}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def _tree(root: str) -> list[str]:
    """Every file under ``root``, relative to it."""
    fs, inner = fsspec.core.url_to_fs(root)
    return sorted(path[len(inner.rstrip("/")) + 1 :] for path in fs.find(inner))


def _csv(url: str) -> tuple[list[str], list[dict[str, str]]]:
    with fsspec.open(url, "r", newline="") as handle:
        reader = csv.DictReader(io.StringIO(handle.read(), newline=""))
        return list(reader.fieldnames or []), list(reader)


def test_csv_logger_writes_metrics_and_hparams_to_memory(memory_root: str) -> None:
    logger = CSVLogger(memory_root, name="exp")
    assert logger.version == 0
    logger.log_hyperparams({"lr": 0.1, "layers": [1, 2]})
    logger.log_metrics({"loss": 1.0}, step=0)
    logger.save()
    logger.log_metrics({"loss": 0.5, "acc": 0.9}, step=1)  # a new column: the file is rewritten
    logger.finalize("success")
    assert logger.log_dir == f"{memory_root}/exp/version_0"
    assert _tree(memory_root) == ["exp/version_0/hparams.yaml", "exp/version_0/metrics.csv"]
    header, rows = _csv(f"{logger.log_dir}/metrics.csv")
    assert header == ["acc", "loss", "step"]
    assert [(r["step"], r["acc"], r["loss"]) for r in rows] == [
        ("0", "", "1.0"),
        ("1", "0.9", "0.5"),
    ]
    assert load_hparams_from_yaml(f"{logger.log_dir}/hparams.yaml") == {"lr": 0.1, "layers": [1, 2]}
    # The next logger finds version_0 and takes version_1.
    assert CSVLogger(memory_root, name="exp").version == 1


def test_csv_appends_in_a_reused_remote_version_folder(memory_root: str) -> None:
    for value in (1.0, 2.0):
        logger = CSVLogger(memory_root, name="", version="run")
        with (
            pytest.warns(UserWarning, match="exists and is not empty")
            if value == 2.0
            else contextlib.nullcontext()
        ):
            logger.log_metrics({"x": value}, step=int(value))
            logger.finalize("success")
    _, rows = _csv(f"{memory_root}/run/metrics.csv")
    assert [r["x"] for r in rows] == ["1.0", "2.0"]


def test_csv_and_local_give_the_same_bytes(memory_root: str, tmp_path) -> None:
    for root in (memory_root, str(tmp_path), f"file://{tmp_path}/url"):
        logger = CSVLogger(root, name="e")
        logger.log_hyperparams({"a": 1})
        logger.log_metrics({"m": 0.25}, step=3)
        logger.finalize("success")
    remote = fsspec.open(f"{memory_root}/e/version_0/metrics.csv", "rb").open().read()
    assert remote == (tmp_path / "e" / "version_0" / "metrics.csv").read_bytes()
    assert remote == (tmp_path / "url" / "e" / "version_0" / "metrics.csv").read_bytes()
    assert remote == b"m,step\r\n0.25,3\r\n"


def test_tensorboard_logger_writes_events_and_hparams_to_memory(memory_root: str) -> None:
    pytest.importorskip("tensorboard")
    logger = TensorBoardLogger(memory_root)
    logger.log_hyperparams({"lr": 0.1})
    logger.log_metrics({"loss": 0.5}, step=1)
    logger.finalize("success")
    files = _tree(memory_root)
    assert files[0] == "lightning_logs/version_0/events.out.tfevents" or files[0].startswith(
        "lightning_logs/version_0/events.out.tfevents."
    )
    assert files[1:] == ["lightning_logs/version_0/hparams.yaml"]
    assert load_hparams_from_yaml(f"{logger.log_dir}/hparams.yaml") == {"lr": 0.1}
    # The events read back through tensorboard's own reader.
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    events = list(EventFileLoader(f"{memory_root}/{files[0]}").Load())
    tags = {v.tag for e in events for v in e.summary.value}
    assert "loss" in tags and "hp_metric" in tags
    assert TensorBoardLogger(memory_root).version == 1


def test_hparams_yaml_on_memory(memory_root: str) -> None:
    path = f"{memory_root}/x/hparams.yaml"
    fsspec.filesystem("memory").makedirs(f"{memory_root}/x", exist_ok=True)
    save_hparams_to_yaml(path, {"b": 2, "a": (1, 2)})
    assert fsspec.open(path, "r").open().read() == "a:\n- 1\n- 2\nb: 2\n"
    assert load_hparams_from_yaml(path) == {"a": [1, 2], "b": 2}


@pytest.mark.parametrize("logger_cls", [CSVLogger, TensorBoardLogger])
def test_a_missing_filesystem_package_fails_at_construction(logger_cls, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gcsfs", None)
    monkeypatch.delitem(_fsspec_registry, "gs", raising=False)
    with pytest.raises(ImportError, match=r"needs the `gcsfs` package: `pip install gcsfs`"):
        logger_cls("gs://bucket/logs")
