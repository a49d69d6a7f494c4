from __future__ import annotations

import os
import pickle
from argparse import Namespace
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from pllog import TensorBoardLogger
from pllog._hparams_io import load_hparams_from_yaml
from pllog.logger import _DummyExperiment


def _events(path: str) -> EventAccumulator:
    accumulator = EventAccumulator(path, size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def _scalars(path: str, tag: str) -> list[tuple[int, float]]:
    return [(event.step, pytest.approx(event.value)) for event in _events(path).Scalars(tag)]


def test_metrics_read_back(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path)
    logger.log_metrics({"loss": torch.tensor(0.5), "acc": 0.25}, step=0)
    logger.log_metrics({"loss": 0.4}, step=5)
    logger.finalize("success")
    assert logger.log_dir == os.path.join(tmp_path, "lightning_logs", "version_0")
    assert _scalars(logger.log_dir, "loss") == [(0, 0.5), (5, 0.4)]
    assert _scalars(logger.log_dir, "acc") == [(0, 0.25)]


def test_dict_value_goes_to_add_scalars(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path, name="exp")
    logger.log_metrics({"group": {"a": 1.0, "b": torch.tensor(2.0)}}, step=1)
    logger.finalize("success")
    subdirs = sorted(os.listdir(logger.log_dir))
    assert "group_a" in subdirs and "group_b" in subdirs
    assert _scalars(os.path.join(logger.log_dir, "group_b"), "group") == [(1, 2.0)]


def test_bad_metric_names_the_key(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path)
    with pytest.raises(ValueError, match="'weights'"):
        logger.log_metrics({"weights": torch.ones(3)}, step=0)
    logger.finalize("failed")


def test_prefix_is_joined_with_a_dash(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path, prefix="train")
    logger.log_metrics({"loss": 1.0}, step=2)
    logger.finalize("success")
    assert _events(logger.log_dir).Tags()["scalars"] == ["train-loss"]


def test_versions_increment_and_are_fixed_on_first_use(tmp_path: Path) -> None:
    first = TensorBoardLogger(tmp_path)
    first.log_metrics({"x": 1.0}, 0)
    second = TensorBoardLogger(tmp_path)
    assert second.version == 1
    (tmp_path / "lightning_logs" / "version_7").mkdir()
    (tmp_path / "lightning_logs" / "version_x").mkdir()  # not a number: ignored
    (tmp_path / "lightning_logs" / "version_9").write_text("a file, not a folder")
    assert second.version == 1  # decided once, then fixed
    assert TensorBoardLogger(tmp_path).version == 8
    assert TensorBoardLogger(tmp_path / "fresh").version == 0
    first.finalize("success")


def test_given_versions_name_and_sub_dir(tmp_path: Path) -> None:
    assert TensorBoardLogger(tmp_path, version=3).log_dir.endswith(
        os.path.join("lightning_logs", "version_3")
    )
    named = TensorBoardLogger(tmp_path, name="exp", version="run-a", sub_dir="fold1")
    assert named.log_dir == os.path.join(tmp_path, "exp", "run-a", "fold1")
    assert named.root_dir == os.path.join(tmp_path, "exp")
    assert (
        named.save_dir == os.fspath(tmp_path) and named.sub_dir == "fold1" and named.name == "exp"
    )
    unnamed = TensorBoardLogger(tmp_path, name="", version=0)
    assert unnamed.log_dir == os.path.join(tmp_path, "version_0") and unnamed.name == ""
    named.log_metrics({"x": 1.0}, 0)
    named.finalize("success")
    assert os.listdir(named.log_dir)  # the event file lives inside sub_dir


def test_save_dir_expands_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert TensorBoardLogger("~/logs", version=0).log_dir == os.path.join(
        tmp_path, "logs", "lightning_logs", "version_0"
    )


@pytest.mark.parametrize("version", [-1, True, 1.5, ""])
def test_bad_version(tmp_path: Path, version: object) -> None:
    with pytest.raises(TypeError, match="version"):
        TensorBoardLogger(tmp_path, version=version)  # type: ignore[arg-type]


def test_unknown_writer_kwarg(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="flush_secs"):
        TensorBoardLogger(tmp_path, flush_sec=10)
    TensorBoardLogger(tmp_path, flush_secs=10, max_queue=5)


def _hparams_plugin(log_dir: str) -> plugin_data_pb2.HParamsPluginData:
    content = _events(log_dir).PluginTagToContent("hparams")
    assert set(content) == {
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
    }
    return plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])


def test_hyperparams_plugin_and_yaml(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path)
    params = Namespace(lr=0.01, opt={"name": "adam", "beta": 0.9}, layers=[1, 2], act=None)
    logger.log_hyperparams(params)
    logger.save()
    start = _hparams_plugin(logger.log_dir).session_start_info
    assert start.hparams["lr"].number_value == pytest.approx(0.01)
    assert start.hparams["opt/name"].string_value == "adam"
    assert start.hparams["opt/beta"].number_value == pytest.approx(0.9)
    assert start.hparams["layers"].string_value == "[1, 2]"
    assert start.hparams["act"].string_value == "None"
    assert _scalars(logger.log_dir, "hp_metric") == [(0, -1.0)]
    loaded = load_hparams_from_yaml(os.path.join(logger.log_dir, "hparams.yaml"))
    assert loaded == {
        "lr": 0.01,
        "opt": {"name": "adam", "beta": 0.9},
        "layers": [1, 2],
        "act": None,
    }
    logger.finalize("success")


def test_hyperparams_with_metrics_and_without_default(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path, default_hp_metric=False)
    logger.log_hyperparams({"a": 1})
    logger.save()
    assert "hp_metric" not in _events(logger.log_dir).Tags()["scalars"]
    assert load_hparams_from_yaml(os.path.join(logger.log_dir, "hparams.yaml")) == {"a": 1}
    logger.log_hyperparams({"b": 2}, metrics=0.75, step=3)
    logger.save()
    assert _scalars(logger.log_dir, "hp_metric") == [(3, 0.75)]
    # As in Lightning, save() writes hparams.yaml only when the folder has none yet.
    assert load_hparams_from_yaml(os.path.join(logger.log_dir, "hparams.yaml")) == {"a": 1}
    logger.finalize("success")


def test_save_creates_the_event_file_and_hparams_yaml(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path)
    logger.save()  # as in Lightning: the Trainer's first save makes the writer and the folder
    logger.finalize("success")
    assert list((tmp_path / "lightning_logs" / "version_0").glob("events.out.tfevents.*"))
    assert load_hparams_from_yaml(os.path.join(logger.log_dir, "hparams.yaml")) == {}


class _Net(torch.nn.Module):
    def __init__(self, example: object = None) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 2)
        self.example_input_array = example

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


def test_log_graph_uses_example_input_array(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path, log_graph=True)
    logger.log_graph(_Net(torch.zeros(1, 4)))
    logger.finalize("success")
    assert _events(logger.log_dir).Tags()["graph"] is True


def test_log_graph_warns_without_input_and_is_off_by_default(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path, log_graph=True)
    with pytest.warns(UserWarning, match="example_input_array"):
        logger.log_graph(_Net())
    with pytest.warns(UserWarning, match="can.t be traced"):
        logger.log_graph(_Net(), input_array=[1, 2])
    off = TensorBoardLogger(tmp_path, name="off")
    off.log_graph(_Net(torch.zeros(1, 4)))
    assert off._experiment is None  # nothing traced, nothing created


def test_experiment_is_lazy_and_rank_zero_only(tmp_path: Path, nonzero_rank: None) -> None:
    logger = TensorBoardLogger(tmp_path)
    assert isinstance(logger.experiment, _DummyExperiment)
    logger.log_metrics({"x": 1.0}, 0)
    logger.log_hyperparams({"a": 1})
    logger.finalize("success")
    assert not (tmp_path / "lightning_logs").exists()


def test_writes_after_finalize_reopen_the_writer(tmp_path: Path) -> None:
    # fit() finalizes the logger, then test() on the same Trainer logs again.
    logger = TensorBoardLogger(tmp_path)
    logger.log_metrics({"x": 1.0}, 0)
    logger.finalize("success")
    logger.log_metrics({"x": 2.0}, 1)
    logger.finalize("success")
    assert _scalars(logger.log_dir, "x") == [(0, 1.0), (1, 2.0)]


def test_pickles_without_the_writer(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path)
    logger.log_metrics({"x": 1.0}, 0)
    clone = pickle.loads(pickle.dumps(logger))
    assert clone._experiment is None and clone.log_dir == logger.log_dir
    logger.finalize("success")
