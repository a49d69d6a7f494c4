"""``self.log`` through the Trainer: the keys and values of ``callback_metrics``,
``logged_metrics``, ``progress_bar_metrics``, the evaluation results and the logger writes.

Expected values follow Lightning 2.x. The data make every reduction distinguishable:

* training: x = 0..9, batch size 4 -> batches of 4, 4, 2 with means 1.5, 5.5, 8.5
  (weighted epoch mean 4.5, unweighted 5.1667, sum 15.5, max 8.5, min 1.5);
* validation / test: x = 10..19, batch size 4 -> means 11.5, 15.5, 18.5
  (weighted mean 14.5, sum 45.5, max 18.5, min 11.5);
* a second evaluation loader: x = 20..25, batch size 3 -> means 21, 24 (mean 22.5).

Every model logs ``x.mean()`` of its batch unless a test says otherwise.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from pllog import Logger

TRAIN = {"last": 8.5, "mean": 4.5, "sum": 15.5, "max": 8.5, "min": 1.5}
VAL = {"last": 18.5, "mean": 14.5, "sum": 45.5, "max": 18.5, "min": 11.5}
VAL2_MEAN = 22.5

LogFn = Callable[..., None]


# --- helpers ---------------------------------------------------------------------------------
class RecordingLogger(Logger):
    """Records every ``log_metrics`` call as ``(metrics, step)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, float], int | None]] = []

    @property
    def name(self) -> str:
        return "recording"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.calls.append((dict(metrics), step))

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def writes_of(self, key: str) -> list[tuple[int | None, float]]:
        return [(step, metrics[key]) for metrics, step in self.calls if key in metrics]


def loader(start: int, stop: int, batch_size: int) -> DataLoader:
    x = torch.arange(start, stop, dtype=torch.float32).unsqueeze(1)
    return DataLoader(TensorDataset(x), batch_size=batch_size)


def train_data() -> DataLoader:
    return loader(0, 10, 4)


def val_data() -> DataLoader:
    return loader(10, 20, 4)


def val2_data() -> DataLoader:
    return loader(20, 26, 3)


class LogModel(pl.LightningModule):
    """Calls ``log_fns[hook](self, value, batch_idx, dataloader_idx)`` from each hook.

    ``value`` is the batch mean in step hooks and ``None`` in epoch hooks.
    """

    def __init__(self, **log_fns: LogFn) -> None:
        super().__init__()
        self.layer = nn.Linear(1, 1)
        self.log_fns = log_fns

    def _call(self, hook: str, *args: Any) -> None:
        fn = self.log_fns.get(hook)
        if fn is not None:
            fn(self, *args)

    def training_step(self, batch, batch_idx):
        (x,) = batch
        self._call("train", x.mean(), batch_idx, 0)
        return self.layer(x).sum()

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        (x,) = batch
        self._call("val", x.mean(), batch_idx, dataloader_idx)

    def test_step(self, batch, batch_idx, dataloader_idx=0):
        (x,) = batch
        self._call("test", x.mean(), batch_idx, dataloader_idx)

    def on_train_start(self):
        self._call("train_start", None, 0, 0)

    def on_train_epoch_end(self):
        self._call("train_epoch_end", None, 0, 0)

    def on_validation_epoch_end(self):
        self._call("val_epoch_end", None, 0, 0)

    def on_test_epoch_end(self):
        self._call("test_epoch_end", None, 0, 0)

    def configure_optimizers(self):
        # lr=0 keeps the weights (and so every logged value) fixed
        return torch.optim.SGD(self.parameters(), lr=0.0)


def make_trainer(tmp_path, **overrides: Any) -> pl.Trainer:
    flags: dict[str, Any] = dict(
        default_root_dir=tmp_path,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
    )
    flags.update(overrides)
    return pl.Trainer(**flags)


def floats(metrics: dict[str, Any], drop: tuple[str, ...] = ("epoch",)) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in metrics.items() if k not in drop}


def logs(name: str, **options: Any) -> LogFn:
    """A log function that logs the step value under ``name`` with ``options``."""

    def fn(module: pl.LightningModule, value: Any, batch_idx: int, dataloader_idx: int) -> None:
        module.log(name, value, **options)

    return fn


# --- the signatures a Lightning script calls --------------------------------------------------------
LOG_DICT_PARAMS = {
    "dictionary": inspect.Parameter.empty,
    "prog_bar": False,
    "logger": None,
    "on_step": None,
    "on_epoch": None,
    "reduce_fx": "mean",
    "enable_graph": False,
    "sync_dist": False,
    "sync_dist_group": None,
    "add_dataloader_idx": True,
    "batch_size": None,
    "rank_zero_only": False,
}
LOG_PARAMS = {
    "name": inspect.Parameter.empty,
    "value": inspect.Parameter.empty,
    **{k: v for k, v in LOG_DICT_PARAMS.items() if k not in ("dictionary", "rank_zero_only")},
    "metric_attribute": None,
    "rank_zero_only": False,
}


def _params(fn: Callable[..., Any]) -> dict[str, Any]:
    params = list(inspect.signature(fn).parameters.values())[1:]  # without self
    return {p.name: p.default for p in params}


def test_log_signature_matches_lightning():
    assert _params(pl.LightningModule.log) == LOG_PARAMS
    assert list(_params(pl.LightningModule.log)) == list(LOG_PARAMS)  # positional order too


def test_log_dict_signature_matches_lightning():
    assert list(_params(pl.LightningModule.log_dict).items()) == list(LOG_DICT_PARAMS.items())


# --- training_step: every on_step / on_epoch combination ---------------------------------------
TRAIN_COMBOS = [
    # (on_step, on_epoch) -> callback, logged, progress bar
    (
        (None, None),
        {"a": TRAIN["last"]},
        {"a": TRAIN["last"]},
        {"a": TRAIN["last"]},
    ),
    (
        (True, False),
        {"a": TRAIN["last"]},
        {"a": TRAIN["last"]},
        {"a": TRAIN["last"]},
    ),
    (
        (False, True),
        {"a": TRAIN["mean"]},
        {"a": TRAIN["mean"]},
        {"a": TRAIN["mean"]},
    ),
    (
        (True, True),
        {"a": TRAIN["mean"], "a_step": TRAIN["last"], "a_epoch": TRAIN["mean"]},
        {"a_step": TRAIN["last"], "a_epoch": TRAIN["mean"]},
        {"a_step": TRAIN["last"], "a_epoch": TRAIN["mean"]},
    ),
]


@pytest.mark.parametrize(("combo", "callback", "logged", "pbar"), TRAIN_COMBOS)
def test_training_step_views_after_fit(tmp_path, combo, callback, logged, pbar):
    on_step, on_epoch = combo
    model = LogModel(train=logs("a", on_step=on_step, on_epoch=on_epoch, prog_bar=True))
    trainer = make_trainer(tmp_path, logger=RecordingLogger(), log_every_n_steps=1)
    trainer.fit(model, train_data())
    assert floats(trainer.callback_metrics) == callback
    assert floats(trainer.logged_metrics) == logged
    assert floats(trainer.progress_bar_metrics) == pbar


def test_training_step_defaults_keep_values_off_the_progress_bar(tmp_path):
    model = LogModel(train=logs("a"))
    trainer = make_trainer(tmp_path, logger=RecordingLogger(), log_every_n_steps=1)
    trainer.fit(model, train_data())
    assert floats(trainer.callback_metrics) == {"a": TRAIN["last"]}
    assert trainer.progress_bar_metrics == {}


def test_logger_false_keeps_values_out_of_logged_metrics(tmp_path):
    model = LogModel(train=logs("a", on_step=True, on_epoch=True, logger=False, prog_bar=True))
    trainer = make_trainer(tmp_path, logger=RecordingLogger(), log_every_n_steps=1)
    trainer.fit(model, train_data())
    assert floats(trainer.logged_metrics) == {}
    assert floats(trainer.callback_metrics) == {
        "a": TRAIN["mean"],
        "a_step": TRAIN["last"],
        "a_epoch": TRAIN["mean"],
    }
    assert trainer.loggers[0].calls == []  # nothing to write


def test_metric_value_types(tmp_path):
    model = LogModel(train=logs("a", on_step=True, on_epoch=True, prog_bar=True))
    trainer = make_trainer(tmp_path, logger=RecordingLogger(), log_every_n_steps=1)
    trainer.fit(model, train_data())
    assert all(isinstance(v, torch.Tensor) for v in trainer.callback_metrics.values())
    assert all(isinstance(v, torch.Tensor) for v in trainer.logged_metrics.values())
    assert all(isinstance(v, float) for v in trainer.progress_bar_metrics.values())
    assert all(
        isinstance(v, (int, float))
        for metrics, _ in trainer.loggers[0].calls
        for v in metrics.values()
    )


def test_logged_metrics_are_filled_without_a_logger(tmp_path):
    model = LogModel(train=logs("a", on_step=True, on_epoch=True))
    trainer = make_trainer(tmp_path, logger=False)
    trainer.fit(model, train_data())
    assert floats(trainer.logged_metrics) == {"a_step": TRAIN["last"], "a_epoch": TRAIN["mean"]}


def test_logged_metrics_have_no_epoch_key(tmp_path):
    model = LogModel(train=logs("a"))
    trainer = make_trainer(tmp_path, logger=RecordingLogger(), log_every_n_steps=1)
    trainer.fit(model, train_data())
    assert set(trainer.logged_metrics) == {"a"}


def test_values_are_detached(tmp_path):
    def log_loss(module, value, batch_idx, dataloader_idx):
        module.log("loss", module.layer(value.reshape(1, 1)).sum(), on_epoch=True)

    model = LogModel(train=log_loss)
    trainer = make_trainer(tmp_path)
    trainer.fit(model, train_data())
    assert not any(v.requires_grad for v in trainer.callback_metrics.values())


def test_validation_inside_the_epoch_does_not_disturb_training_values(tmp_path):
    model = LogModel(train=logs("a", on_step=True, on_epoch=True), val=logs("v"))
    trainer = make_trainer(tmp_path, val_check_interval=0.5)
    trainer.fit(model, loader(0, 8, 2), val_data())  # train batch means 0.5, 2.5, 4.5, 6.5
    assert floats(trainer.callback_metrics) == {
        "a": 3.5,
        "a_step": 6.5,
        "a_epoch": 3.5,
        "v": VAL["mean"],
    }


class MetricsAtHooks(pl.Callback):
    """Copies the callback metrics at each train batch end and at the train epoch end."""

    def __init__(self) -> None:
        self.batch_end: list[dict[str, float]] = []
        self.epoch_end: dict[str, float] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.batch_end.append(floats(trainer.callback_metrics))

    def on_train_epoch_end(self, trainer, pl_module):
        self.epoch_end = floats(trainer.callback_metrics)


def test_callback_metrics_hold_epoch_aggregates_in_on_train_epoch_end(tmp_path):
    seen = MetricsAtHooks()
    model = LogModel(train=logs("a", on_step=True, on_epoch=True))
    trainer = make_trainer(tmp_path, callbacks=[seen])
    trainer.fit(model, train_data())
    assert seen.epoch_end == {"a": TRAIN["mean"], "a_step": TRAIN["last"], "a_epoch": TRAIN["mean"]}


def test_callback_metrics_hold_the_current_step_value_in_on_train_batch_end(tmp_path):
    seen = MetricsAtHooks()
    model = LogModel(train=logs("a"))
    trainer = make_trainer(tmp_path, callbacks=[seen])
    trainer.fit(model, train_data())
    assert [m.get("a") for m in seen.batch_end] == [1.5, 5.5, 8.5]


# --- validation and test steps ---------------------------------------------------------------------
EVAL_COMBOS = [
    # (on_step, on_epoch) -> callback metrics, step key, epoch part of logged / pbar, results
    ((None, None), {"v": VAL["mean"]}, None, {"v": VAL["mean"]}, [{"v": VAL["mean"]}]),
    ((False, True), {"v": VAL["mean"]}, None, {"v": VAL["mean"]}, [{"v": VAL["mean"]}]),
    (
        (True, True),
        {"v": VAL["mean"], "v_epoch": VAL["mean"]},
        "v_step",
        {"v_epoch": VAL["mean"]},
        [{"v_epoch": VAL["mean"]}],
    ),
    # per-step evaluation values never reach the callback metrics nor the results
    ((True, False), {}, "v", {}, [{}]),
]


def _run_eval(trainer: pl.Trainer, stage: str, model: LogModel, loaders: Any) -> list[dict]:
    run = trainer.validate if stage == "val" else trainer.test
    return run(model, dataloaders=loaders, verbose=False)


@pytest.mark.parametrize("stage", ["val", "test"])
@pytest.mark.parametrize(("combo", "callback", "step_key", "epoch_logged", "results"), EVAL_COMBOS)
def test_eval_step_views(tmp_path, stage, combo, callback, step_key, epoch_logged, results):
    on_step, on_epoch = combo
    model = LogModel(**{stage: logs("v", on_step=on_step, on_epoch=on_epoch, prog_bar=True)})
    trainer = make_trainer(tmp_path, logger=RecordingLogger())
    out = _run_eval(trainer, stage, model, val_data())
    assert [floats(r) for r in out] == results
    assert all(isinstance(v, float) for r in out for v in r.values())
    assert floats(trainer.callback_metrics) == callback
    # the per-batch value (step_key) is checked in the next test
    assert floats(trainer.logged_metrics, drop=("epoch", step_key)) == epoch_logged
    assert floats(trainer.progress_bar_metrics, drop=(step_key,)) == epoch_logged


@pytest.mark.parametrize(("on_epoch", "step_key"), [(True, "v_step"), (False, "v")])
def test_eval_step_values_reach_logged_metrics_pbar_and_loggers(tmp_path, on_epoch, step_key):
    model = LogModel(val=logs("v", on_step=True, on_epoch=on_epoch, prog_bar=True))
    trainer = make_trainer(tmp_path, logger=RecordingLogger())
    trainer.validate(model, dataloaders=val_data(), verbose=False)
    assert floats(trainer.logged_metrics).get(step_key) == VAL["last"]
    assert floats(trainer.progress_bar_metrics).get(step_key) == VAL["last"]
    assert trainer.loggers[0].writes_of(step_key) == [(0, 11.5), (1, 15.5), (2, 18.5)]


def test_validation_metrics_during_fit(tmp_path):
    class SeenAtValidationEnd(pl.Callback):
        metrics: dict[str, float] = {}

        def on_validation_end(self, trainer, pl_module):
            SeenAtValidationEnd.metrics = floats(trainer.callback_metrics)

    model = LogModel(train=logs("a"), val=logs("v", on_step=True, on_epoch=True))
    trainer = make_trainer(tmp_path, callbacks=[SeenAtValidationEnd()])
    trainer.fit(model, train_data(), val_data())
    expected = {"a": TRAIN["last"], "v": VAL["mean"], "v_epoch": VAL["mean"]}
    assert SeenAtValidationEnd.metrics == expected
    assert floats(trainer.callback_metrics) == expected


def test_sanity_check_values_are_discarded(tmp_path):
    first_batch: dict[str, Any] = {}

    def log_train(module, value, batch_idx, dataloader_idx):
        if batch_idx == 0:
            first_batch["callback"] = dict(module.trainer.callback_metrics)
            first_batch["pbar"] = dict(module.trainer.progress_bar_metrics)
        module.log("a", value)

    logger = RecordingLogger()
    model = LogModel(train=log_train, val=logs("v", prog_bar=True))
    trainer = make_trainer(tmp_path, logger=logger, num_sanity_val_steps=2, log_every_n_steps=1)
    trainer.fit(model, train_data(), val_data())
    assert first_batch == {"callback": {}, "pbar": {}}
    # one write of v: the full validation at the epoch end, not the 2-batch sanity check
    assert logger.writes_of("v") == [(2, VAL["mean"])]


# --- epoch-level hooks -----------------------------------------------------------------------------
def _log_constant(name: str, value: float, **options: Any) -> LogFn:
    def fn(module, _value, batch_idx, dataloader_idx):
        module.log(name, value, **options)

    return fn


def test_epoch_end_hooks_log_epoch_values(tmp_path):
    model = LogModel(
        train=logs("a"),
        train_epoch_end=_log_constant("e", 1.0, prog_bar=True),
        val=logs("v"),
        val_epoch_end=_log_constant("g", 2.0),
    )
    trainer = make_trainer(tmp_path, logger=RecordingLogger(), log_every_n_steps=1)
    trainer.fit(model, train_data(), val_data())
    expected = {"a": TRAIN["last"], "e": 1.0, "v": VAL["mean"], "g": 2.0}
    assert floats(trainer.callback_metrics) == expected
    assert floats(trainer.logged_metrics) == expected
    assert floats(trainer.progress_bar_metrics) == {"e": 1.0}


def test_values_logged_in_on_train_start_are_kept(tmp_path):
    logger = RecordingLogger()
    model = LogModel(train_start=_log_constant("foo", 123.0))
    trainer = make_trainer(
        tmp_path, logger=logger, max_epochs=2, limit_train_batches=1, log_every_n_steps=1
    )
    trainer.fit(model, train_data())
    assert floats(trainer.callback_metrics) == {"foo": 123.0}
    assert logger.calls == [({"foo": 123.0, "epoch": 0}, 0)]


@pytest.mark.parametrize("stage", ["val", "test"])
def test_eval_epoch_end_values_are_in_results(tmp_path, stage):
    model = LogModel(**{stage: logs("v"), f"{stage}_epoch_end": _log_constant("g", 2.0)})
    trainer = make_trainer(tmp_path)
    out = _run_eval(trainer, stage, model, val_data())
    assert [floats(r) for r in out] == [{"v": VAL["mean"], "g": 2.0}]


# --- reductions and batch sizes ----------------------------------------------------------------------
@pytest.mark.parametrize("reduce_fx", ["mean", "sum", "max", "min"])
def test_epoch_reduction_in_training_and_validation(tmp_path, reduce_fx):
    model = LogModel(
        train=logs("a", on_step=False, on_epoch=True, reduce_fx=reduce_fx),
        val=logs("v", reduce_fx=reduce_fx),
    )
    trainer = make_trainer(tmp_path)
    trainer.fit(model, train_data(), val_data())
    assert floats(trainer.callback_metrics) == {"a": TRAIN[reduce_fx], "v": VAL[reduce_fx]}


@pytest.mark.parametrize("reduce_fx", [torch.mean, torch.sum, torch.max, torch.min])
def test_torch_reductions_are_accepted(tmp_path, reduce_fx):
    model = LogModel(val=logs("v", reduce_fx=reduce_fx))
    out = make_trainer(tmp_path).validate(model, dataloaders=val_data(), verbose=False)
    assert floats(out[0]) == {"v": VAL[reduce_fx.__name__]}


def test_python_numbers_are_weighted_by_the_inferred_batch_size(tmp_path):
    def log_index(module, value, batch_idx, dataloader_idx):
        module.log("i", float(batch_idx), on_step=False, on_epoch=True)
        module.log("n", batch_idx, on_step=False, on_epoch=True, reduce_fx="sum")

    model = LogModel(train=log_index)
    trainer = make_trainer(tmp_path)
    trainer.fit(model, train_data())
    # (0*4 + 1*4 + 2*2) / 10 and 0 + 1 + 2
    assert floats(trainer.callback_metrics) == {"i": 0.8, "n": 3.0}


def test_explicit_batch_size_overrides_the_inferred_one(tmp_path):
    model = LogModel(train=logs("a", on_step=False, on_epoch=True, batch_size=1))
    trainer = make_trainer(tmp_path)
    trainer.fit(model, train_data())
    assert floats(trainer.callback_metrics) == {"a": round((1.5 + 5.5 + 8.5) / 3, 4)}


def test_batch_size_is_inferred_from_a_dict_batch(tmp_path):
    class DictModel(LogModel):
        def training_step(self, batch, batch_idx):
            self.log("a", batch["x"].mean(), on_step=False, on_epoch=True)
            return self.layer(batch["x"]).sum()

    data = [{"x": torch.tensor([float(i)])} for i in range(10)]
    trainer = make_trainer(tmp_path)
    trainer.fit(DictModel(), DataLoader(data, batch_size=4))
    assert floats(trainer.callback_metrics) == {"a": TRAIN["mean"]}


def test_epoch_values_restart_every_epoch(tmp_path):
    def log_epoch(module, value, batch_idx, dataloader_idx):
        module.log("a", value + 100 * module.current_epoch, on_step=False, on_epoch=True)

    model = LogModel(train=log_epoch)
    trainer = make_trainer(tmp_path, max_epochs=2)
    trainer.fit(model, train_data())
    assert floats(trainer.callback_metrics) == {"a": TRAIN["mean"] + 100}


def test_log_dict_applies_the_options_to_every_key(tmp_path):
    def log_two(module, value, batch_idx, dataloader_idx):
        module.log_dict({"a": value, "b": 2 * value}, on_step=False, on_epoch=True, prog_bar=True)

    model = LogModel(train=log_two)
    trainer = make_trainer(tmp_path)
    trainer.fit(model, train_data())
    expected = {"a": TRAIN["mean"], "b": 2 * TRAIN["mean"]}
    assert floats(trainer.callback_metrics) == expected
    assert floats(trainer.progress_bar_metrics) == expected


def test_callbacks_can_log_through_the_module(tmp_path):
    class LoggingCallback(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            pl_module.log("cb_step", float(batch_idx))

        def on_train_epoch_end(self, trainer, pl_module):
            pl_module.log("cb_epoch", 5.0)

    trainer = make_trainer(tmp_path, callbacks=[LoggingCallback()])
    trainer.fit(LogModel(), train_data())
    assert floats(trainer.callback_metrics) == {"cb_step": 2.0, "cb_epoch": 5.0}


def test_torchmetrics_metric_is_computed_at_epoch_end(tmp_path):
    torchmetrics = pytest.importorskip("torchmetrics")

    class MetricModel(LogModel):
        def __init__(self):
            super().__init__()
            self.train_mean = torchmetrics.MeanMetric()
            self.val_mean = torchmetrics.MeanMetric()

        def training_step(self, batch, batch_idx):
            (x,) = batch
            self.train_mean(x)
            self.log("m", self.train_mean, on_step=True, on_epoch=True)
            return self.layer(x).sum()

        def validation_step(self, batch, batch_idx):
            (x,) = batch
            self.val_mean.update(x)
            self.log("vm", self.val_mean)

    trainer = make_trainer(tmp_path)
    trainer.fit(MetricModel(), train_data(), val_data())
    assert floats(trainer.callback_metrics) == {
        "m": TRAIN["mean"],
        "m_step": TRAIN["last"],
        "m_epoch": TRAIN["mean"],
        "vm": VAL["mean"],
    }


# --- several evaluation dataloaders -----------------------------------------------------------------
@pytest.mark.parametrize("stage", ["val", "test"])
def test_several_dataloaders_add_the_dataloader_index(tmp_path, stage):
    model = LogModel(**{stage: logs("v"), f"{stage}_epoch_end": _log_constant("g", 2.0)})
    trainer = make_trainer(tmp_path)
    out = _run_eval(trainer, stage, model, [val_data(), val2_data()])
    assert [floats(r) for r in out] == [
        {"v/dataloader_idx_0": VAL["mean"], "g": 2.0},
        {"v/dataloader_idx_1": VAL2_MEAN, "g": 2.0},
    ]
    assert floats(trainer.callback_metrics) == {
        "v/dataloader_idx_0": VAL["mean"],
        "v/dataloader_idx_1": VAL2_MEAN,
        "g": 2.0,
    }


def test_several_dataloaders_with_forked_names(tmp_path):
    model = LogModel(val=logs("v", on_step=True, on_epoch=True, prog_bar=True))
    trainer = make_trainer(tmp_path, logger=RecordingLogger())
    out = trainer.validate(model, dataloaders=[val_data(), val2_data()], verbose=False)
    assert [floats(r) for r in out] == [
        {"v_epoch/dataloader_idx_0": VAL["mean"]},
        {"v_epoch/dataloader_idx_1": VAL2_MEAN},
    ]
    assert floats(trainer.callback_metrics) == {
        "v/dataloader_idx_0": VAL["mean"],
        "v_epoch/dataloader_idx_0": VAL["mean"],
        "v/dataloader_idx_1": VAL2_MEAN,
        "v_epoch/dataloader_idx_1": VAL2_MEAN,
    }
    epoch_keys = {"v_epoch/dataloader_idx_0": VAL["mean"], "v_epoch/dataloader_idx_1": VAL2_MEAN}
    step_keys = ("epoch", "v_step/dataloader_idx_0", "v_step/dataloader_idx_1")
    assert floats(trainer.logged_metrics, drop=step_keys) == epoch_keys
    assert floats(trainer.progress_bar_metrics, drop=step_keys) == epoch_keys


def _log_per_loader(module, value, batch_idx, dataloader_idx):
    module.log(f"v{dataloader_idx}", value, add_dataloader_idx=False)


def test_add_dataloader_idx_false_keeps_the_name(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.validate(
        LogModel(val=_log_per_loader), dataloaders=[val_data(), val2_data()], verbose=False
    )
    assert floats(trainer.callback_metrics) == {"v0": VAL["mean"], "v1": VAL2_MEAN}


def test_add_dataloader_idx_false_results_stay_per_dataloader(tmp_path):
    trainer = make_trainer(tmp_path)
    out = trainer.validate(
        LogModel(val=_log_per_loader), dataloaders=[val_data(), val2_data()], verbose=False
    )
    assert [floats(r) for r in out] == [{"v0": VAL["mean"]}, {"v1": VAL2_MEAN}]


def test_several_val_dataloaders_during_fit(tmp_path):
    model = LogModel(val=logs("v"))
    trainer = make_trainer(tmp_path)
    trainer.fit(model, train_data(), [val_data(), val2_data()])
    assert floats(trainer.callback_metrics) == {
        "v/dataloader_idx_0": VAL["mean"],
        "v/dataloader_idx_1": VAL2_MEAN,
    }


# --- logger writes: step numbering, epoch, frequency --------------------------------------------------
def _one_per_batch(n: int) -> DataLoader:
    return loader(0, n, 1)  # batch i logs the value i


def test_step_values_are_written_every_log_every_n_steps(tmp_path):
    logger = RecordingLogger()
    model = LogModel(train=logs("loss"))
    trainer = make_trainer(tmp_path, logger=logger, log_every_n_steps=10, max_epochs=2)
    trainer.fit(model, _one_per_batch(50))
    assert logger.calls == [
        ({"loss": float(step % 50), "epoch": step // 50}, step)
        for step in (9, 19, 29, 39, 49, 59, 69, 79, 89, 99)
    ]


def test_default_log_every_n_steps_is_50(tmp_path):
    logger = RecordingLogger()
    trainer = make_trainer(tmp_path, logger=logger)
    trainer.fit(LogModel(train=logs("loss")), _one_per_batch(60))
    assert logger.writes_of("loss") == [(49, 49.0)]


def test_log_every_n_steps_0_writes_no_step_values(tmp_path):
    logger = RecordingLogger()
    model = LogModel(train=logs("a", on_step=True, on_epoch=True))
    trainer = make_trainer(tmp_path, logger=logger, log_every_n_steps=0)
    trainer.fit(model, _one_per_batch(20))
    assert logger.writes_of("a_step") == []
    assert [v for _, v in logger.writes_of("a_epoch")] == [9.5]


def test_step_values_are_written_when_training_stops(tmp_path):
    class StopAtBatch3(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if batch_idx == 3:
                trainer.should_stop = True

    logger = RecordingLogger()
    trainer = make_trainer(tmp_path, logger=logger, callbacks=[StopAtBatch3()])
    trainer.fit(LogModel(train=logs("loss")), _one_per_batch(20))
    assert logger.writes_of("loss") == [(3, 3.0)]


def test_log_every_n_steps_counts_optimizer_steps(tmp_path):
    logger = RecordingLogger()
    trainer = make_trainer(tmp_path, logger=logger, log_every_n_steps=5, accumulate_grad_batches=2)
    trainer.fit(LogModel(train=logs("loss")), _one_per_batch(40))
    # 20 optimizer steps; each write holds the value of the window's last batch
    assert logger.writes_of("loss") == [(4, 9.0), (9, 19.0), (14, 29.0), (19, 39.0)]


def test_step_and_epoch_values_are_written_with_epoch(tmp_path):
    logger = RecordingLogger()
    model = LogModel(train=logs("a", on_step=True, on_epoch=True))
    trainer = make_trainer(tmp_path, logger=logger, log_every_n_steps=10)
    trainer.fit(model, _one_per_batch(20))
    assert logger.writes_of("a_step") == [(9, 9.0), (19, 19.0)]
    assert [v for _, v in logger.writes_of("a_epoch")] == [9.5]
    assert all(metrics["epoch"] == 0 for metrics, _ in logger.calls)


def test_epoch_values_are_written_at_the_epoch_last_step(tmp_path):
    logger = RecordingLogger()
    model = LogModel(train=_log_constant("foo", 0.0, on_step=True, on_epoch=True))
    trainer = make_trainer(
        tmp_path, logger=logger, log_every_n_steps=1, max_epochs=2, limit_train_batches=2
    )
    trainer.fit(model, train_data())
    assert logger.calls == [
        ({"foo_step": 0.0, "epoch": 0}, 0),
        ({"foo_step": 0.0, "epoch": 0}, 1),
        ({"foo_epoch": 0.0, "epoch": 0}, 1),
        ({"foo_step": 0.0, "epoch": 1}, 2),
        ({"foo_step": 0.0, "epoch": 1}, 3),
        ({"foo_epoch": 0.0, "epoch": 1}, 3),
    ]


def test_validation_values_are_written_at_the_current_step(tmp_path):
    logger = RecordingLogger()
    model = LogModel(val=logs("v"))
    trainer = make_trainer(tmp_path, logger=logger, max_epochs=2)
    trainer.fit(model, train_data(), val_data())
    # 3 training batches per epoch: validation ends epoch 0 at step 2 and epoch 1 at step 5
    assert logger.calls == [
        ({"v": VAL["mean"], "epoch": 0}, 2),
        ({"v": VAL["mean"], "epoch": 1}, 5),
    ]


def test_validate_alone_writes_at_step_0(tmp_path):
    logger = RecordingLogger()
    trainer = make_trainer(tmp_path, logger=logger)
    trainer.validate(LogModel(val=logs("v")), dataloaders=val_data(), verbose=False)
    assert logger.calls == [({"v": VAL["mean"], "epoch": 0}, 0)]


# --- errors -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (torch.zeros(2), ValueError, "'bad'"),
        ("text", (TypeError, ValueError), "'bad'"),
        (None, (TypeError, ValueError), "'bad'"),
        ([1.0, 2.0], (TypeError, ValueError), "'bad'"),
    ],
)
def test_bad_values_raise(tmp_path, value, error, match):
    model = LogModel(train=_log_constant("bad", value))
    with pytest.raises(error, match=match):
        make_trainer(tmp_path).fit(model, train_data())


def test_same_key_twice_in_one_hook_with_other_options_raises(tmp_path):
    def twice(module, value, batch_idx, dataloader_idx):
        module.log("a", value)
        module.log("a", value, prog_bar=True)

    with pytest.raises(ValueError, match="'a'"):
        make_trainer(tmp_path).fit(LogModel(train=twice), train_data())


def test_unknown_reduce_fx_raises(tmp_path):
    model = LogModel(train=logs("a", reduce_fx="median"))
    with pytest.raises(ValueError, match="reduce_fx"):
        make_trainer(tmp_path).fit(model, train_data())


def test_on_step_in_an_epoch_end_hook_raises(tmp_path):
    model = LogModel(train_epoch_end=_log_constant("e", 1.0, on_step=True))
    with pytest.raises(ValueError, match="on_step"):
        make_trainer(tmp_path).fit(model, train_data())


@pytest.mark.parametrize("hook", ["configure_optimizers", "setup", "predict_step"])
def test_hooks_that_may_not_log_raise(tmp_path, hook):
    class BadModel(LogModel):
        def configure_optimizers(self):
            if hook == "configure_optimizers":
                self.log("x", 1.0)
            return super().configure_optimizers()

        def setup(self, stage):
            if hook == "setup":
                self.log("x", 1.0)

        def predict_step(self, batch, batch_idx, dataloader_idx=0):
            self.log("x", 1.0)

    trainer = make_trainer(tmp_path)
    with pytest.raises(Exception, match="self.log"):  # Lightning raises its own type
        if hook == "predict_step":
            trainer.predict(BadModel(), dataloaders=val_data())
        else:
            trainer.fit(BadModel(), train_data())


def test_name_with_a_dataloader_suffix_raises(tmp_path):
    model = LogModel(train=logs("foo/dataloader_idx_0"))
    with pytest.raises(Exception, match="dataloader_idx"):
        make_trainer(tmp_path).fit(model, train_data())


def test_log_without_a_trainer_warns_and_does_nothing():
    model = LogModel(train=logs("a"))
    with pytest.warns(UserWarning, match="trainer"):
        loss = model.training_step([torch.ones(2, 1)], 0)
    assert loss.ndim == 0
