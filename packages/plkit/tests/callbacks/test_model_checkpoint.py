from __future__ import annotations

import logging
import math
import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
import torch

from plcore.utilities.exceptions import MisconfigurationException
from plkit.callbacks import ModelCheckpoint
from plkit.callbacks import model_checkpoint as mc_module


def _setup(cb, trainer, stage="fit"):
    cb.setup(trainer, None, stage)
    cb.on_train_start(trainer, None)


def _epoch(cb, trainer, epoch, step, /, **metrics):
    """One epoch ending with validation-style metrics (saved at train epoch end by default)."""
    trainer.current_epoch = epoch
    trainer.global_step = step
    trainer.callback_metrics = {k: torch.tensor(float(v)) for k, v in metrics.items()}
    cb.on_validation_end(trainer, None)
    cb.on_train_epoch_end(trainer, None)


# --- construction -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mode": "avg"}, ValueError, "`mode` can be 'min' or 'max'"),
        ({"save_top_k": -2}, ValueError, "save_top_k=-2"),
        ({"save_top_k": 2}, ValueError, "monitor=None"),
        ({"every_n_train_steps": -1}, ValueError, "every_n_train_steps=-1"),
        ({"every_n_epochs": -3}, ValueError, "every_n_epochs=-3"),
        ({"every_n_train_steps": 2, "every_n_epochs": 1}, ValueError, "mutually exclusive"),
        (
            {"every_n_train_steps": 2, "train_time_interval": timedelta(seconds=1)},
            ValueError,
            "mutually exclusive",
        ),
        ({"save_last": "always"}, ValueError, "save_last='always'"),
        ({"save_top_k": 1.5}, TypeError, "save_top_k"),
        ({"monitor": 3}, TypeError, "monitor"),
        ({"train_time_interval": 30}, TypeError, "timedelta"),
    ],
)
def test_invalid_configuration(kwargs, error, match):
    with pytest.raises(error, match=match):
        ModelCheckpoint(**kwargs)


def test_triggers_default_to_every_epoch():
    cb = ModelCheckpoint()
    assert (cb._every_n_epochs, cb._every_n_train_steps, cb._train_time_interval) == (1, 0, None)
    cb = ModelCheckpoint(every_n_train_steps=5)
    assert (cb._every_n_epochs, cb._every_n_train_steps) == (0, 5)
    assert ModelCheckpoint(monitor="val_loss", save_top_k=3).save_top_k == 3


def test_state_key_names_identifying_arguments():
    cb = ModelCheckpoint(monitor="val_loss", mode="max", every_n_train_steps=7)
    assert cb.state_key == (
        "ModelCheckpoint{'monitor': 'val_loss', 'mode': 'max', 'every_n_train_steps': 7,"
        " 'every_n_epochs': 0, 'train_time_interval': None}"
    )


def test_dirpath_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cb = ModelCheckpoint(dirpath="ckpts")
    assert cb.dirpath == os.path.realpath(tmp_path / "ckpts")


# --- names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filename", "metrics", "auto", "expected"),
    [
        (None, {"epoch": 3, "step": 10}, True, "epoch=3-step=10"),
        ("{epoch}-{val_loss:.2f}", {"epoch": 3, "val_loss": 0.1234}, True, "epoch=3-val_loss=0.12"),
        ("{epoch:03d}", {"epoch": 7}, True, "epoch=007"),
        ("e{epoch}_{acc:.1f}", {"epoch": 2, "acc": 0.91}, False, "e2_0.9"),
        ("{val/loss:.3f}", {"val/loss": 0.5}, True, "val/loss=0.500"),
        ("{epoch}-{epoch_test}", {"epoch": 1, "epoch_test": 5}, True, "epoch=1-epoch_test=5"),
        ("{missing}", {}, True, "missing=0"),
        ("{epoch}", {"epoch": torch.tensor(4)}, True, "epoch=4"),
        ("{loss:.1e}", {"loss": torch.tensor(0.00123)}, True, "loss=1.2e-03"),
    ],
)
def test_format_checkpoint_name(filename, metrics, auto, expected):
    cb = ModelCheckpoint(dirpath="/ckpts", filename=filename, auto_insert_metric_name=auto)
    assert cb.format_checkpoint_name(metrics) == f"/ckpts/{expected}.ckpt"


@pytest.mark.parametrize(
    "filename", ["../../x-{epoch}", "/abs/{epoch}", "sub/../../{epoch}", "{../../x}"]
)
def test_filename_outside_dirpath_is_rejected_at_construction(filename):
    with pytest.raises(MisconfigurationException, match="outside `dirpath`"):
        ModelCheckpoint(dirpath="/ckpts", filename=filename)


@pytest.mark.parametrize("filename", ["{val/loss:.2f}", "sub/{epoch}", "a/../{epoch}"])
def test_filename_with_folders_inside_dirpath_is_accepted(filename):
    ModelCheckpoint(dirpath="/ckpts", filename=filename)


def test_filled_in_value_that_escapes_dirpath_is_rejected_at_save_time():
    cb = ModelCheckpoint(dirpath="/ckpts", filename="{tag}", auto_insert_metric_name=False)
    with pytest.raises(MisconfigurationException, match=r"\(as '\.\./\.\./x\.ckpt'\)"):
        cb.format_checkpoint_name({"tag": "../../x"})


def test_format_checkpoint_name_version_and_no_dirpath():
    cb = ModelCheckpoint(filename="{epoch}")
    assert cb.format_checkpoint_name({"epoch": 1}, ver=2) == "epoch=1-v2.ckpt"
    assert cb.format_checkpoint_name({"epoch": 1}, cb.CHECKPOINT_NAME_LAST) == "last.ckpt"


def test_default_dirpath_without_loggers(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint()
    cb.setup(trainer, None, "fit")
    assert cb.dirpath == os.path.join(str(tmp_path), "checkpoints")
    assert trainer.strategy.broadcasts[0] == cb.dirpath  # rank 0's folder is used everywhere


@pytest.mark.parametrize(
    ("save_dir", "version", "expected"),
    [
        ("logs", 3, ("logs", "lightning_logs", "version_3", "checkpoints")),
        ("logs", "run-a", ("logs", "lightning_logs", "run-a", "checkpoints")),
        (None, 0, ("ROOT", "lightning_logs", "version_0", "checkpoints")),
    ],
)
def test_default_dirpath_from_first_logger(fake_trainer, tmp_path, save_dir, version, expected):
    logger = SimpleNamespace(
        save_dir=save_dir and str(tmp_path / save_dir), name="lightning_logs", version=version
    )
    trainer = fake_trainer(loggers=[logger, SimpleNamespace(save_dir="elsewhere")])
    cb = ModelCheckpoint()
    cb.setup(trainer, None, "fit")
    root = str(tmp_path)
    parts = [root if p == "ROOT" else (str(tmp_path / p) if p == "logs" else p) for p in expected]
    assert cb.dirpath == os.path.join(*parts)


def test_warns_when_dir_not_empty(fake_trainer, tmp_path):
    (tmp_path / "ckpts").mkdir()
    (tmp_path / "ckpts" / "old.ckpt").write_text("x")
    with pytest.warns(UserWarning, match="exists and is not empty"):
        ModelCheckpoint(dirpath=tmp_path / "ckpts").setup(fake_trainer(), None, "fit")


# --- top k ------------------------------------------------------------------------------------------
def test_top_k_min_bookkeeping_and_files(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(
        dirpath=tmp_path / "c", monitor="val_loss", save_top_k=2, filename="{epoch}-{val_loss:.1f}"
    )
    _setup(cb, trainer)
    for epoch, loss in enumerate([3.0, 2.0, 1.0, 4.0, 0.5]):
        _epoch(cb, trainer, epoch, (epoch + 1) * 10, val_loss=loss)
    d = str(tmp_path / "c")
    assert sorted(os.listdir(d)) == ["epoch=2-val_loss=1.0.ckpt", "epoch=4-val_loss=0.5.ckpt"]
    assert cb.best_model_path == os.path.join(d, "epoch=4-val_loss=0.5.ckpt")
    assert cb.best_model_score == pytest.approx(0.5)
    assert cb.kth_best_model_path == os.path.join(d, "epoch=2-val_loss=1.0.ckpt")
    assert cb.kth_value == pytest.approx(1.0)
    assert {os.path.basename(k): float(v) for k, v in cb.best_k_models.items()} == {
        "epoch=2-val_loss=1.0.ckpt": 1.0,
        "epoch=4-val_loss=0.5.ckpt": 0.5,
    }
    assert cb.current_score == pytest.approx(0.5)
    # epoch 3 (4.0) was worse than the kth best: nothing saved or removed then
    assert [os.path.basename(p) for p in trainer.saved] == [
        "epoch=0-val_loss=3.0.ckpt",
        "epoch=1-val_loss=2.0.ckpt",
        "epoch=2-val_loss=1.0.ckpt",
        "epoch=4-val_loss=0.5.ckpt",
    ]


def test_new_file_is_written_before_the_old_one_is_removed(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", save_top_k=1, filename="{epoch}")
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 5, val_loss=2.0)
    _epoch(cb, trainer, 1, 10, val_loss=1.0)
    first, second = os.path.join(tmp_path, "epoch=0.ckpt"), os.path.join(tmp_path, "epoch=1.ckpt")
    assert trainer.events == [("save", first), ("save", second), ("remove", first)]


def test_top_k_max_mode(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(
        dirpath=tmp_path, monitor="acc", mode="max", save_top_k=1, filename="{epoch}"
    )
    _setup(cb, trainer)
    for epoch, acc in enumerate([0.5, 0.7, 0.6]):
        _epoch(cb, trainer, epoch, epoch + 1, acc=acc)
    assert os.path.basename(cb.best_model_path) == "epoch=1.ckpt"
    assert os.listdir(tmp_path) == ["epoch=1.ckpt"]
    assert math.isinf(ModelCheckpoint(monitor="acc", mode="max").kth_value) is True


def test_nan_never_beats_a_real_score(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", save_top_k=2, filename="{epoch}")
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 1, val_loss=float("nan"))
    assert cb.best_k_models[cb.best_model_path] == math.inf  # stored as the worst score
    _epoch(cb, trainer, 1, 2, val_loss=5.0)
    _epoch(cb, trainer, 2, 3, val_loss=4.0)
    assert os.path.basename(cb.best_model_path) == "epoch=2.ckpt"
    assert sorted(os.listdir(tmp_path)) == [
        "epoch=1.ckpt",
        "epoch=2.ckpt",
    ]  # the NaN one went first
    _epoch(cb, trainer, 3, 4, val_loss=float("nan"))
    assert "epoch=3.ckpt" not in os.listdir(tmp_path)


def test_save_top_k_minus_one_keeps_all(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", save_top_k=-1, filename="{epoch}")
    _setup(cb, trainer)
    for epoch, loss in enumerate([3.0, 4.0, 1.0]):
        _epoch(cb, trainer, epoch, epoch + 1, val_loss=loss)
    assert len(os.listdir(tmp_path)) == 3 and trainer.removed == []
    assert os.path.basename(cb.best_model_path) == "epoch=2.ckpt"
    assert os.path.basename(cb.kth_best_model_path) == "epoch=1.ckpt"


def test_save_top_k_zero_saves_only_last(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, save_top_k=0, save_last=True)
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 4)
    _epoch(cb, trainer, 1, 8)
    assert os.listdir(tmp_path) == ["last.ckpt"]
    assert cb.last_model_path == os.path.join(tmp_path, "last.ckpt")
    assert cb.best_model_path == ""


def test_no_monitor_keeps_latest(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path)
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 4)
    _epoch(cb, trainer, 1, 8)
    assert os.listdir(tmp_path) == ["epoch=1-step=8.ckpt"]
    assert cb.best_model_path == os.path.join(tmp_path, "epoch=1-step=8.ckpt")
    assert trainer.events[-1] == ("remove", os.path.join(tmp_path, "epoch=0-step=4.ckpt"))


def test_no_monitor_save_all(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, save_top_k=-1, every_n_epochs=2)
    _setup(cb, trainer)
    for epoch in range(5):
        _epoch(cb, trainer, epoch, (epoch + 1) * 3)
    assert sorted(os.listdir(tmp_path)) == ["epoch=1-step=6.ckpt", "epoch=3-step=12.ckpt"]


def test_save_last_after_each_save(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", save_last=True, filename="{epoch}")
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 1, val_loss=1.0)
    _epoch(cb, trainer, 1, 2, val_loss=2.0)  # not top 1, but last.ckpt is still refreshed
    names = [os.path.basename(p) for p in trainer.saved]
    assert names == ["epoch=0.ckpt", "last.ckpt", "last.ckpt"]
    with open(os.path.join(tmp_path, "last.ckpt")) as f:
        assert f.read() == "step=2"
    assert sorted(os.listdir(tmp_path)) == ["epoch=0.ckpt", "last.ckpt"]


def test_save_last_link_links_the_file_just_saved(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, save_last="link", filename="{epoch}")
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 3)
    assert [os.path.basename(p) for p in trainer.saved] == ["epoch=0.ckpt"]  # one serialisation
    last = os.path.join(tmp_path, "last.ckpt")
    assert os.path.islink(last) and os.readlink(last) == "epoch=0.ckpt"  # relative, as Lightning
    with open(last) as f:
        assert f.read() == "step=3"
    _epoch(cb, trainer, 1, 6)
    assert os.readlink(last) == "epoch=1.ckpt"


def test_custom_last_name(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, save_last=True, save_top_k=0)
    cb.CHECKPOINT_NAME_LAST = "{epoch}-last"
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 3)
    _epoch(cb, trainer, 1, 6)
    assert os.listdir(tmp_path) == ["epoch=1-last.ckpt"]


@pytest.mark.filterwarnings("ignore:Checkpoint directory")
def test_version_counter(fake_trainer, tmp_path):
    (tmp_path / "epoch=0.ckpt").write_text("old")
    (tmp_path / "epoch=0-v1.ckpt").write_text("old")
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, filename="{epoch}", save_top_k=-1)
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 3)
    assert cb.best_model_path == os.path.join(tmp_path, "epoch=0-v2.ckpt")
    assert (tmp_path / "epoch=0.ckpt").read_text() == "old"


@pytest.mark.filterwarnings("ignore:Checkpoint directory")
def test_version_counter_disabled_overwrites(fake_trainer, tmp_path):
    (tmp_path / "epoch=0.ckpt").write_text("old")
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, filename="{epoch}", enable_version_counter=False)
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 3)
    assert (tmp_path / "epoch=0.ckpt").read_text() == "step=3"


def test_same_name_across_epochs_replaces_top1_in_place(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", filename="best")
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 1, val_loss=2.0)
    _epoch(cb, trainer, 1, 2, val_loss=1.0)
    assert os.listdir(tmp_path) == ["best.ckpt"]  # the file being replaced may be overwritten
    assert trainer.removed == []


# --- when -------------------------------------------------------------------------------------------
def test_every_n_train_steps(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=3, save_top_k=-1)
    _setup(cb, trainer)
    for step in range(1, 8):
        trainer.global_step = step
        cb.on_train_batch_end(trainer, None, None, None, step - 1)
    cb.on_train_epoch_end(trainer, None)  # every_n_epochs is off
    assert sorted(os.listdir(tmp_path)) == ["epoch=0-step=3.ckpt", "epoch=0-step=6.ckpt"]


def test_train_time_interval(fake_trainer, tmp_path, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(mc_module.time, "monotonic", lambda: clock[0])
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, train_time_interval=timedelta(seconds=10), save_top_k=-1)
    _setup(cb, trainer)
    for step, now in enumerate([105.0, 111.0, 115.0, 122.0], start=1):
        clock[0] = now
        trainer.global_step = step
        cb.on_train_batch_end(trainer, None, None, None, step)
    assert sorted(os.listdir(tmp_path)) == ["epoch=0-step=2.ckpt", "epoch=0-step=4.ckpt"]


@pytest.mark.parametrize(
    ("overrides", "at_epoch_end"),
    [
        ({}, True),
        ({"num_val_batches": [0]}, True),
        ({"num_val_batches": []}, True),
        ({"check_val_every_n_epoch": 2}, False),
        ({"val_check_interval": 0.5}, False),
        ({"val_check_interval": 100}, False),
    ],
)
def test_save_on_train_epoch_end_decision(fake_trainer, overrides, at_epoch_end):
    trainer = fake_trainer(**overrides)
    assert ModelCheckpoint()._should_save_on_train_epoch_end(trainer) is at_epoch_end
    assert (
        ModelCheckpoint(save_on_train_epoch_end=False)._should_save_on_train_epoch_end(trainer)
        is False
    )


def test_saves_after_validation_when_validating_mid_epoch(fake_trainer, tmp_path):
    trainer = fake_trainer(val_check_interval=0.5)
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", save_top_k=-1, filename="{step}")
    _setup(cb, trainer)
    for step, loss in [(2, 1.0), (4, 0.5)]:
        trainer.global_step = step
        trainer.callback_metrics = {"val_loss": torch.tensor(loss)}
        cb.on_validation_end(trainer, None)
    cb.on_train_epoch_end(trainer, None)
    assert sorted(os.listdir(tmp_path)) == ["step=2.ckpt", "step=4.ckpt"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"fast_dev_run": 1},
        {"sanity_checking": True},
        {"state": SimpleNamespace(fn="validate")},
        {"global_step": 0},
    ],
)
def test_skips_saving(fake_trainer, tmp_path, overrides):
    trainer = fake_trainer(**overrides)
    cb = ModelCheckpoint(dirpath=tmp_path, save_last=True)
    _setup(cb, trainer)
    trainer.global_step = overrides.get("global_step", 5)
    cb.on_validation_end(trainer, None)
    cb.on_train_epoch_end(trainer, None)
    assert trainer.saved == []


def test_never_saves_twice_at_the_same_step(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=2, save_top_k=-1)
    _setup(cb, trainer)
    trainer.global_step = 2
    cb.on_train_batch_end(trainer, None, None, None, 1)
    cb.on_train_batch_end(trainer, None, None, None, 2)  # accumulating: same global step
    assert len(trainer.saved) == 1


def test_save_weights_only_is_passed_on(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, save_weights_only=True)
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 1)
    assert trainer.weights_only == [True]


def test_loggers_are_told_after_a_save(fake_trainer, tmp_path):
    seen = []
    logger = SimpleNamespace(
        save_dir=str(tmp_path),
        name="n",
        version=0,
        after_save_checkpoint=lambda cb: seen.append(cb.best_model_path),
    )
    trainer = fake_trainer(loggers=[logger])
    cb = ModelCheckpoint()
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 1)
    assert seen == [cb.best_model_path] and os.path.exists(seen[0])


# --- the monitored key ------------------------------------------------------------------------------
def test_missing_monitor_before_validation_warns(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", every_n_train_steps=1)
    _setup(cb, trainer)
    trainer.global_step = 1
    trainer.callback_metrics = {"train_loss": torch.tensor(1.0)}
    with pytest.warns(RuntimeWarning, match="could not find the monitored key"):
        cb.on_train_batch_end(trainer, None, None, None, 0)
    assert trainer.saved == []


def test_missing_monitor_after_validation_raises(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss")
    _setup(cb, trainer)
    with pytest.raises(ValueError) as info:
        _epoch(cb, trainer, 0, 1, train_loss=1.0, val_acc=0.5)
    message = str(info.value)
    assert "`ModelCheckpoint(monitor='val_loss')` could not find the monitored key" in message
    assert "['train_loss', 'val_acc', 'epoch', 'step']" in message
    assert "HINT: Did you call `log('val_loss', value)` in the `LightningModule`?" in message


def test_logged_epoch_and_step_are_used_as_ints(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path)
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 1, epoch=7.0)
    assert os.path.basename(cb.best_model_path) == "epoch=7-step=1.ckpt"


# --- files we must not delete -----------------------------------------------------------------------
def test_resume_checkpoint_and_foreign_files_are_kept(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path / "c", monitor="val_loss", filename="{epoch}")
    cb.setup(trainer, None, "fit")
    outside = str(tmp_path / "elsewhere.ckpt")
    resume = os.path.join(cb.dirpath, "resume.ckpt")
    trainer.ckpt_path = resume
    assert cb._should_remove_checkpoint(trainer, outside, "x") is False
    assert cb._should_remove_checkpoint(trainer, resume, "x") is False
    assert cb._should_remove_checkpoint(trainer, "a", "a") is False
    assert cb._should_remove_checkpoint(trainer, os.path.join(cb.dirpath, "e.ckpt"), "x") is True


# --- state ------------------------------------------------------------------------------------------
def test_state_dict_round_trip(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", save_top_k=2, save_last=True)
    _setup(cb, trainer)
    for epoch, loss in enumerate([3.0, 1.0, 2.0]):
        _epoch(cb, trainer, epoch, epoch + 1, val_loss=loss)
    state = cb.state_dict()
    assert set(state) == {
        "monitor",
        "best_model_score",
        "best_model_path",
        "current_score",
        "dirpath",
        "best_k_models",
        "kth_best_model_path",
        "kth_value",
        "last_model_path",
    }
    restored = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", save_top_k=2, save_last=True)
    with pytest.warns(UserWarning, match="not empty"):
        restored.setup(fake_trainer(), None, "fit")
    restored.load_state_dict(state)
    for key in ("best_model_path", "kth_best_model_path", "last_model_path", "dirpath"):
        assert getattr(restored, key) == getattr(cb, key)
    assert float(restored.best_model_score) == 1.0 and float(restored.kth_value) == 2.0
    assert {k: float(v) for k, v in restored.best_k_models.items()} == {
        k: float(v) for k, v in cb.best_k_models.items()
    }
    # the restored callback keeps ranking: 0.5 displaces the kth best (2.0)
    trainer2 = fake_trainer()
    restored._last_global_step_saved = 3
    _epoch(restored, trainer2, 3, 4, val_loss=0.5)
    assert trainer2.removed == [os.path.join(tmp_path, "epoch=2-step=3.ckpt")]


def test_load_state_dict_from_another_dirpath(tmp_path):
    state = ModelCheckpoint(dirpath=tmp_path / "a").state_dict()
    state.update(
        best_model_path="/a/best.ckpt",
        last_model_path="/a/last.ckpt",
        best_model_score=torch.tensor(1.0),
    )
    cb = ModelCheckpoint(dirpath=tmp_path / "b")
    with pytest.warns(UserWarning, match="dirpath has changed"):
        cb.load_state_dict(state)
    assert cb.best_model_path == "/a/best.ckpt"
    assert cb.last_model_path == "" and cb.best_model_score is None


def test_to_yaml(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", save_top_k=2, filename="{epoch}")
    _setup(cb, trainer)
    _epoch(cb, trainer, 0, 1, val_loss=0.25)
    cb.to_yaml()
    text = (tmp_path / "best_k_models.yaml").read_text()
    assert text == f'"{os.path.join(tmp_path, "epoch=0.ckpt")}": 0.25\n'


def test_verbose_logs(fake_trainer, tmp_path, caplog):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, monitor="val_loss", verbose=True, filename="{epoch}")
    _setup(cb, trainer)
    with caplog.at_level(logging.INFO, logger="plkit.callbacks.model_checkpoint"):
        _epoch(cb, trainer, 0, 1, val_loss=0.5)
        _epoch(cb, trainer, 1, 2, val_loss=0.7)
    assert "Epoch 0, global step 1: 'val_loss' reached 0.50000 (best 0.50000)" in caplog.text
    assert "Epoch 1, global step 2: 'val_loss' was not in top 1" in caplog.text


def test_save_last_is_written_at_train_end_when_no_save_point_came(fake_trainer, tmp_path):
    trainer = fake_trainer()
    cb = ModelCheckpoint(dirpath=tmp_path, save_last=True, every_n_train_steps=100)
    _setup(cb, trainer)
    cb.on_train_end(trainer, None)
    assert os.listdir(tmp_path) == ["last.ckpt"]
    cb.on_train_end(trainer, None)  # once only
    assert [os.path.basename(p) for p in trainer.saved] == ["last.ckpt"]
