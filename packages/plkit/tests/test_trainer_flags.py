"""Each Trainer flag's effect on epochs, steps, batches and validation runs."""

from __future__ import annotations

import importlib.util
import math
import os
from datetime import timedelta

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

import plkit as pl
from plkit.callbacks import ModelCheckpoint, ModelSummary, ProgressBar


class Counting(pl.LightningModule):
    """Counts what the loops do."""

    def __init__(self, n_train=8, n_val=4, batch_size=1):
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.n_train, self.n_val, self.bs = n_train, n_val, batch_size
        self.train_batches = []  # (epoch, batch_idx)
        self.val_batches = []  # (epoch, sanity, batch_idx)
        self.val_runs = 0
        self.train_loader_calls = 0
        self.inference_flags = []
        self.anomaly_flags = []

    def _data(self, n):
        g = torch.Generator().manual_seed(n)
        return TensorDataset(torch.randn(n, 2, generator=g), torch.randn(n, 1, generator=g))

    def train_dataloader(self):
        self.train_loader_calls += 1
        return DataLoader(self._data(self.n_train), batch_size=self.bs)

    def val_dataloader(self):
        return DataLoader(self._data(self.n_val), batch_size=self.bs)

    def training_step(self, batch, batch_idx):
        self.train_batches.append((self.current_epoch, batch_idx))
        self.anomaly_flags.append(torch.is_anomaly_enabled())
        x, y = batch
        return nn.functional.mse_loss(self.layer(x), y)

    def validation_step(self, batch, batch_idx):
        self.val_batches.append((self.current_epoch, self.trainer.sanity_checking, batch_idx))
        self.inference_flags.append(torch.is_inference_mode_enabled())
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.layer(x), y))

    def on_validation_start(self):
        if not self.trainer.sanity_checking:
            self.val_runs += 1

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def val_epochs(self):
        return sorted({e for e, sanity, _ in self.val_batches if not sanity})

    def sanity_batches(self):
        return sum(1 for _, sanity, _ in self.val_batches if sanity)


def make(**kw):
    defaults = dict(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
        num_sanity_val_steps=0,
    )
    defaults.update(kw)
    return pl.Trainer(**defaults)


def test_max_epochs_default_is_1000_and_explicit_value_runs_that_many():
    # As in Lightning: None until fit fills it in (1000 with a warning, -1 when max_steps bounds).
    unset = make(limit_train_batches=1, limit_val_batches=0)
    assert unset.max_epochs is None
    with pytest.warns(UserWarning, match="Setting it to 1000 epochs"):
        unset.fit(Counting())
    assert unset.max_epochs == 1000 and unset.current_epoch == 1000
    bounded = make(max_steps=10)
    assert bounded.max_epochs is None
    bounded.fit(Counting())
    assert bounded.max_epochs == -1 and bounded.global_step == 10
    model = Counting()
    t = make(max_epochs=2)
    t.fit(model)
    assert t.current_epoch == 2 and t.global_step == 16
    assert [e for e, _ in model.train_batches].count(1) == 8


def test_max_steps_stops_mid_epoch():
    model = Counting()
    t = make(max_steps=5, max_epochs=10)
    t.fit(model)
    assert t.global_step == 5 and len(model.train_batches) == 5


class StopAtOnce(pl.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        trainer.should_stop = True


def test_should_stop_respects_min_epochs_and_min_steps():
    model = Counting()
    t = make(max_epochs=10, min_epochs=3, callbacks=[StopAtOnce()])
    t.fit(model)
    assert t.current_epoch == 3
    model = Counting()
    t = make(max_epochs=10, min_steps=11, callbacks=[StopAtOnce()])
    t.fit(model)
    assert t.global_step == 11


def test_should_stop_without_minimum_ends_after_the_current_batch():
    model = Counting()
    t = make(max_epochs=10, callbacks=[StopAtOnce()])
    t.fit(model)
    assert t.global_step == 1 and t.current_epoch == 1


@pytest.mark.parametrize("value", ["00:00:00:00", timedelta(0), {"seconds": 0}])
def test_max_time_is_a_timer_that_stops_before_the_first_batch(value):
    model = Counting()
    t = make(max_epochs=5, max_time=value)
    # as in Lightning, max_time adds a Timer(interval="step") to the callbacks
    timers = [cb for cb in t.callbacks if isinstance(cb, pl.callbacks.Timer)]
    assert len(timers) == 1 and timers[0].time_remaining() == 0
    t.fit(model)
    assert t.global_step == 0  # the time is up when fit starts


def test_a_given_timer_wins_over_max_time(caplog):
    timer = pl.callbacks.Timer(duration={"hours": 1})
    with caplog.at_level("INFO"):
        t = make(max_time={"seconds": 0}, callbacks=[timer])
    assert [cb for cb in t.callbacks if isinstance(cb, pl.callbacks.Timer)] == [timer]
    assert (
        "Ignoring `Trainer(max_time=...)`, callbacks list already contains a Timer." in caplog.text
    )


@pytest.mark.parametrize("limit,expected", [(3, 3), (0.5, 4), (1.0, 8), (0.25, 2)])
def test_limit_train_batches(limit, expected):
    model = Counting()
    t = make(max_epochs=1, limit_train_batches=limit)
    t.fit(model)
    assert len(model.train_batches) == expected == t.num_training_batches


@pytest.mark.parametrize("limit,expected", [(1, 1), (0.5, 2), (0, 0)])
def test_limit_val_batches(limit, expected):
    model = Counting()
    t = make(max_epochs=1, limit_val_batches=limit)
    t.fit(model)
    assert len(model.val_batches) == expected
    assert model.val_runs == (1 if expected else 0)


def test_limit_test_and_predict_batches():
    class WithTest(Counting):
        def forward(self, x):
            return self.layer(x)

        def test_step(self, batch, batch_idx):
            self.log("t", 1.0)

    model = WithTest()
    t = make(limit_test_batches=2, limit_predict_batches=3)
    t.test(model, DataLoader(model._data(6), batch_size=1), verbose=False)
    assert t.num_test_batches == [2]
    preds = t.predict(model, DataLoader(torch.randn(6, 2), batch_size=1))
    assert len(preds) == 3


@pytest.mark.parametrize("interval,runs", [(0.5, 2), (0.25, 4), (4, 2), (1.0, 1), (8, 1)])
def test_val_check_interval(interval, runs):
    model = Counting()
    t = make(max_epochs=1, val_check_interval=interval)
    t.fit(model)
    assert model.val_runs == runs


def test_val_check_interval_int_counts_across_epochs_when_check_val_every_n_epoch_is_none():
    model = Counting(n_train=3)
    t = make(max_epochs=4, val_check_interval=4, check_val_every_n_epoch=None)
    t.fit(model)  # 12 batches in all: validation after batches 4, 8, 12
    assert model.val_runs == 3


def test_val_check_interval_larger_than_epoch_is_an_error():
    with pytest.raises(ValueError, match="val_check_interval=20.*check_val_every_n_epoch=None"):
        make(max_epochs=1, val_check_interval=20).fit(Counting())


def test_check_val_every_n_epoch():
    model = Counting()
    t = make(max_epochs=5, check_val_every_n_epoch=2)
    t.fit(model)
    assert model.val_epochs() == [1, 3]


@pytest.mark.parametrize("steps,expected", [(0, 0), (2, 2), (-1, 4)])
def test_num_sanity_val_steps(steps, expected):
    model = Counting()
    make(max_epochs=1, num_sanity_val_steps=steps).fit(model)
    assert model.sanity_batches() == expected


def test_sanity_check_metrics_do_not_reach_callback_metrics():
    seen = {}

    class Peek(pl.Callback):
        def on_train_start(self, trainer, pl_module):
            seen.update(trainer.callback_metrics)

    make(max_epochs=1, num_sanity_val_steps=2, callbacks=[Peek()]).fit(Counting())
    assert seen == {}


@pytest.mark.parametrize("value,batches", [(True, 1), (3, 3)])
def test_fast_dev_run(value, batches, tmp_path):
    model = Counting()
    t = pl.Trainer(
        fast_dev_run=value,
        default_root_dir=tmp_path,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    t.fit(model)
    assert len(model.train_batches) == batches
    assert len(model.val_batches) == batches  # no sanity check, one validation of `batches`
    # As in Lightning: the logger is replaced by a DummyLogger and the default ModelCheckpoint
    # stays, but neither writes anything.
    assert [type(lg).__name__ for lg in t.loggers] == ["DummyLogger"]
    assert isinstance(t.checkpoint_callback, ModelCheckpoint)
    assert t.fast_dev_run is value
    assert not any(tmp_path.rglob("*.ckpt")) and not any(tmp_path.rglob("events.*"))


def test_overfit_batches_uses_the_same_unshuffled_batches():
    class Shuffled(Counting):
        def train_dataloader(self):
            return DataLoader(
                torch.arange(8.0).unsqueeze(1).repeat(1, 2), batch_size=1, shuffle=True
            )

        def training_step(self, batch, batch_idx):
            self.train_batches.append(batch[0, 0].item())
            return self.layer(batch).sum()

    model = Shuffled()
    make(max_epochs=2, overfit_batches=2, limit_val_batches=0).fit(model)
    assert model.train_batches == [0.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("mode", [True, False])
def test_inference_mode(mode):
    # As in Lightning: fit's validation always runs under no_grad; validate follows the flag.
    model = Counting()
    t = make(max_epochs=1, inference_mode=mode)
    t.fit(model)
    assert set(model.inference_flags) == {False}
    model.inference_flags.clear()
    t.validate(model)
    assert set(model.inference_flags) == {mode}


def test_detect_anomaly_is_on_during_fit_only():
    model = Counting()
    make(max_epochs=1, detect_anomaly=True).fit(model)
    assert all(model.anomaly_flags) and not torch.is_anomaly_enabled()


def test_deterministic_and_benchmark_switches():
    try:
        make(deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        make(deterministic="warn")
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        make(deterministic=False, benchmark=True)
        assert not torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark = False


def test_reload_dataloaders_every_n_epochs():
    model = Counting()
    make(max_epochs=4, reload_dataloaders_every_n_epochs=2).fit(model)
    assert model.train_loader_calls == 2  # epochs 0 and 2
    model = Counting()
    make(max_epochs=3).fit(model)
    assert model.train_loader_calls == 1


def test_default_root_dir_holds_logs_and_checkpoints(tmp_path):
    t = pl.Trainer(
        max_epochs=1, default_root_dir=tmp_path, enable_progress_bar=False, accelerator="cpu"
    )
    t.fit(Counting())
    assert t.default_root_dir == os.fspath(tmp_path)
    assert (
        tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "epoch=0-step=8.ckpt"
    ).is_file()
    assert t.log_dir == os.fspath(tmp_path / "lightning_logs" / "version_0")
    t2 = pl.Trainer(
        max_epochs=1, default_root_dir=tmp_path, enable_progress_bar=False, accelerator="cpu"
    )
    t2.fit(Counting())
    assert t2.log_dir.endswith("version_1")


def test_enable_switches_control_default_callbacks(tmp_path):
    t = pl.Trainer(default_root_dir=tmp_path, accelerator="cpu")
    kinds = {type(cb).__name__ for cb in t.callbacks}
    rich = importlib.util.find_spec("rich") is not None  # Lightning's defaults then are rich's
    bar, summary = (
        ("RichProgressBar", "RichModelSummary") if rich else ("TQDMProgressBar", "ModelSummary")
    )
    assert {bar, summary, "ModelCheckpoint"} <= kinds
    t = make()
    assert not any(
        isinstance(cb, (ModelCheckpoint, ProgressBar, ModelSummary)) for cb in t.callbacks
    )
    with pytest.raises(ValueError, match="enable_checkpointing=False"):
        make(callbacks=[ModelCheckpoint()])


def test_callbacks_single_instance_list_and_class_error():
    cb = StopAtOnce()
    assert make(callbacks=cb).callbacks == [cb]
    with pytest.raises(TypeError, match=r"callbacks=\[StopAtOnce\(\)\]"):
        make(callbacks=StopAtOnce)
    with pytest.raises(TypeError, match="Callback"):
        make(callbacks=[object()])


def test_logger_flag_forms(tmp_path):
    from plkit.loggers import CSVLogger, TensorBoardLogger

    t = pl.Trainer(default_root_dir=tmp_path, accelerator="cpu")
    assert isinstance(t.logger, TensorBoardLogger)
    assert pl.Trainer(logger=False, accelerator="cpu").loggers == []
    csv = CSVLogger(tmp_path)
    assert pl.Trainer(logger=csv, accelerator="cpu").loggers == [csv]
    both = [csv, TensorBoardLogger(tmp_path)]
    assert pl.Trainer(logger=both, accelerator="cpu").loggers == both
    with pytest.raises(TypeError, match="logger instance"):
        pl.Trainer(logger=CSVLogger, accelerator="cpu")


def test_barebones_turns_everything_off_and_rejects_conflicts():
    t = pl.Trainer(barebones=True, accelerator="cpu")
    assert t.loggers == [] and t.callbacks == []
    with pytest.raises(ValueError, match="barebones"):
        pl.Trainer(barebones=True, enable_checkpointing=True)
    with pytest.raises(ValueError, match="barebones"):
        pl.Trainer(barebones=True, logger=True)


class Endless(IterableDataset):
    def __iter__(self):
        g = torch.Generator().manual_seed(0)
        for _ in range(5):
            yield torch.randn(2, generator=g), torch.randn(1, generator=g)


def test_iterable_dataset_without_length():
    model = Counting()
    t = make(max_epochs=2)
    t.fit(model, DataLoader(Endless(), batch_size=1), DataLoader(Endless(), batch_size=1))
    assert t.num_training_batches == math.inf
    assert len(model.train_batches) == 10 and model.val_runs == 2


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(max_epochs=-2), "max_epochs"),
        (dict(max_steps=-5), "max_steps"),
        (dict(min_epochs=5, max_epochs=2), "min_epochs"),
        (dict(val_check_interval=1.5), "val_check_interval"),
        (dict(val_check_interval=0), "val_check_interval"),
        (dict(check_val_every_n_epoch=0), "check_val_every_n_epoch"),
        (dict(limit_train_batches=1.5), "limit_train_batches"),
        (dict(limit_val_batches=-1), "limit_val_batches"),
        (dict(num_sanity_val_steps=-3), "num_sanity_val_steps"),
        (dict(log_every_n_steps="often"), "log_every_n_steps"),  # -1 is valid, as in Lightning
        (dict(accumulate_grad_batches=0), "accumulate_grad_batches"),
        (dict(gradient_clip_val=-1.0), "gradient_clip_val"),
        (dict(gradient_clip_algorithm="l2"), "gradient_clip_algorithm"),
        (dict(deterministic="yes"), "deterministic"),
        (dict(max_time="12 hours"), "max_time"),
        (dict(fast_dev_run=-1), "fast_dev_run"),
        (dict(accelerator="quantum"), "accelerator"),
        (dict(precision="8-bit"), "precision"),
        (dict(resume="sometimes"), "resume"),
    ],
)
def test_invalid_flags_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        pl.Trainer(**kwargs)


def test_a_whole_float_limit_above_one_counts_batches_as_in_lightning() -> None:
    # LightningCLI writes --trainer.limit_train_batches=3 as 3.0 (the flag is typed float | int)
    trainer = pl.Trainer(limit_train_batches=3.0, limit_val_batches=2.0, logger=False)
    assert (trainer.limit_train_batches, trainer.limit_val_batches) == (3, 2)
    assert isinstance(trainer.limit_train_batches, int)


@pytest.mark.parametrize("enabled", [True, False])
def test_enable_autolog_hparams_decides_whether_loggers_get_the_hparams(tmp_path, enabled) -> None:
    from plkit.loggers import CSVLogger

    calls = []

    class Recording(CSVLogger):
        def log_hyperparams(self, params, *args, **kwargs):
            calls.append(dict(params))
            super().log_hyperparams(params, *args, **kwargs)

    class WithHparams(Counting):
        def __init__(self, width: int = 3):
            super().__init__()
            self.save_hyperparameters()

    trainer = pl.Trainer(
        max_epochs=1,
        logger=Recording(tmp_path),
        enable_autolog_hparams=enabled,
        model_registry="my-model:v2",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(WithHparams())
    assert trainer.enable_autolog_hparams is enabled and trainer._model_registry == "my-model"
    assert calls == ([{"width": 3}] if enabled else [])


def test_entry_points_take_weights_only_for_ckpt_path(tmp_path) -> None:
    flags = dict(max_epochs=1, logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer = pl.Trainer(default_root_dir=tmp_path, **flags)
    trainer.fit(Counting())
    ckpt = trainer.checkpoint_callback.best_model_path
    for weights_only in (None, True, False):
        again = pl.Trainer(default_root_dir=tmp_path, **flags)
        again.validate(Counting(), ckpt_path=ckpt, weights_only=weights_only, verbose=False)
        again.fit(Counting(), ckpt_path=ckpt, weights_only=weights_only)  # resumes: nothing left
        assert again.global_step == trainer.global_step
