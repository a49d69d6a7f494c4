from __future__ import annotations

import logging
import math
from types import SimpleNamespace

import pytest
import torch

from plkit.callbacks import EarlyStopping
from plkit.callbacks.early_stopping import EarlyStoppingReason


def _run(cb, trainer, values, key="val_loss"):
    """Feed one value per epoch; return the epoch at which the trainer was told to stop."""
    cb.setup(trainer, None, "fit")
    for epoch, value in enumerate(values):
        trainer.current_epoch, trainer.global_step = epoch, (epoch + 1) * 10
        trainer.callback_metrics = {key: torch.tensor(float(value))}
        cb.on_validation_end(trainer, None)
        cb.on_train_epoch_end(trainer, None)
        if trainer.should_stop:
            return epoch
    return None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"monitor": "x", "mode": "avg"}, ValueError, "`mode` can be 'min' or 'max'"),
        ({"monitor": "x", "patience": -1}, ValueError, "patience=-1"),
        ({"monitor": "x", "min_delta": "0.1"}, TypeError, "min_delta"),
        ({"monitor": None}, TypeError, "monitor"),
    ],
)
def test_invalid_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        EarlyStopping(**kwargs)


def test_state_key_and_defaults():
    cb = EarlyStopping("val_loss", mode="max")
    assert cb.state_key == "EarlyStopping{'monitor': 'val_loss', 'mode': 'max'}"
    assert cb.best_score == -math.inf and cb.monitor_op is torch.gt
    assert EarlyStopping("x").best_score == math.inf


@pytest.mark.parametrize(
    ("values", "patience", "stop_epoch"),
    [
        ([5, 4, 3, 3, 3, 3], 3, 5),  # no improvement at epochs 3, 4, 5
        ([5, 4, 3, 3, 2, 2, 2], 3, None),  # the count resets on improvement
        ([5, 5], 1, 1),
        ([5, 6], 0, 1),
    ],
)
def test_patience(fake_trainer, values, patience, stop_epoch):
    cb = EarlyStopping("val_loss", patience=patience)
    assert _run(cb, fake_trainer(), values) == stop_epoch
    if stop_epoch is not None:
        assert cb.stopped_epoch == stop_epoch
        assert cb.stopping_reason is EarlyStoppingReason.PATIENCE_EXHAUSTED
        assert "did not improve in the last" in cb.stopping_reason_message


def test_min_delta(fake_trainer):
    cb = EarlyStopping("val_loss", patience=2, min_delta=0.5)
    # 9.6 and 9.5 improve by <= 0.5: no improvement; stop after the second
    assert _run(cb, fake_trainer(), [10.0, 9.6, 9.5, 0.0]) == 2
    assert float(cb.best_score) == 10.0 and cb.wait_count == 2
    cb = EarlyStopping("acc", mode="max", patience=1, min_delta=0.1)
    assert _run(cb, fake_trainer(), [0.5, 0.7, 0.75], key="acc") == 2
    assert float(cb.best_score) == pytest.approx(0.7)


def test_stopping_threshold(fake_trainer):
    cb = EarlyStopping("acc", mode="max", stopping_threshold=0.9)
    assert _run(cb, fake_trainer(), [0.5, 0.95, 0.96], key="acc") == 1
    assert cb.stopping_reason is EarlyStoppingReason.STOPPING_THRESHOLD
    # the float32 value as Python prints it, as in Lightning's message
    assert "acc = 0.949999988079071 > 0.9." in cb.stopping_reason_message


def test_divergence_threshold(fake_trainer):
    cb = EarlyStopping("val_loss", divergence_threshold=10.0, patience=100)
    assert _run(cb, fake_trainer(), [5.0, 9.0, 11.0]) == 2
    assert cb.stopping_reason is EarlyStoppingReason.DIVERGENCE_THRESHOLD
    # Lightning's wording, kept: the mode's sign ("<" in min mode), not the comparison made
    assert "val_loss = 11.0 < 10.0" in cb.stopping_reason_message


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_stops(fake_trainer, bad):
    cb = EarlyStopping("val_loss", patience=100)
    assert _run(cb, fake_trainer(), [1.0, bad]) == 1
    assert cb.stopping_reason is EarlyStoppingReason.NON_FINITE_METRIC
    assert f"val_loss = {bad} is not finite." in cb.stopping_reason_message
    assert "Previous best value was 1.000" in cb.stopping_reason_message


def test_non_finite_ignored_without_check_finite(fake_trainer):
    cb = EarlyStopping("val_loss", patience=2, check_finite=False)
    assert _run(cb, fake_trainer(), [1.0, float("nan"), float("nan")]) == 2
    assert cb.stopping_reason is EarlyStoppingReason.PATIENCE_EXHAUSTED


def test_strict_missing_metric_raises_with_available_keys(fake_trainer):
    cb = EarlyStopping("val_loss")
    with pytest.raises(RuntimeError, match="`val_loss` which is not available") as info:
        _run(cb, fake_trainer(), [1.0], key="train_loss")
    assert "`train_loss`" in str(info.value)


def test_non_strict_missing_metric_skips(fake_trainer):
    cb = EarlyStopping("val_loss", strict=False, verbose=True)
    with pytest.warns(RuntimeWarning, match="not available"):
        assert _run(cb, fake_trainer(), [1.0, 1.0, 1.0, 1.0], key="train_loss") is None
    assert cb.wait_count == 0


def test_checks_at_train_epoch_end_by_default(fake_trainer):
    trainer = fake_trainer()
    cb = EarlyStopping("val_loss", patience=0)
    cb.setup(trainer, None, "fit")
    trainer.callback_metrics = {"val_loss": torch.tensor(1.0)}
    cb.on_validation_end(trainer, None)
    assert cb.best_score == math.inf  # not checked here
    cb.on_train_epoch_end(trainer, None)
    assert float(cb.best_score) == 1.0


@pytest.mark.parametrize(
    "overrides", [{"check_val_every_n_epoch": 3}, {"val_check_interval": 0.25}]
)
def test_checks_after_validation_when_not_once_per_epoch(fake_trainer, overrides):
    trainer = fake_trainer(**overrides)
    cb = EarlyStopping("val_loss", patience=1)
    cb.setup(trainer, None, "fit")
    trainer.callback_metrics = {"val_loss": torch.tensor(1.0)}
    cb.on_train_epoch_end(trainer, None)
    assert cb.best_score == math.inf
    cb.on_validation_end(trainer, None)
    cb.on_validation_end(trainer, None)  # every validation is a check
    assert trainer.should_stop and cb.wait_count == 1


def test_explicit_check_on_train_epoch_end_wins(fake_trainer):
    trainer = fake_trainer(check_val_every_n_epoch=3)
    cb = EarlyStopping("loss", check_on_train_epoch_end=True)
    cb.setup(trainer, None, "fit")
    trainer.callback_metrics = {"loss": torch.tensor(2.0)}
    cb.on_train_epoch_end(trainer, None)
    assert float(cb.best_score) == 2.0


@pytest.mark.parametrize(
    "overrides",
    [{"sanity_checking": True}, {"state": SimpleNamespace(fn="validate")}, {"fast_dev_run": 1}],
)
def test_skipped(fake_trainer, overrides):
    trainer = fake_trainer(**overrides)
    cb = EarlyStopping("val_loss", patience=0)
    assert _run(cb, trainer, [1.0, 2.0, 3.0]) is None
    assert cb.best_score == math.inf


def test_decision_is_reduced_with_any(fake_trainer):
    trainer = fake_trainer()
    trainer.strategy.reduce_boolean_decision = lambda decision, all=True: (
        trainer.strategy.decisions.append((decision, all)) or True
    )
    cb = EarlyStopping("val_loss", patience=5)
    assert _run(cb, trainer, [1.0]) == 0  # another rank wanted to stop
    assert trainer.strategy.decisions == [(False, False)]
    assert cb.stopped_epoch == 0


def test_already_stopping_trainer_stays_stopped(fake_trainer):
    trainer = fake_trainer(should_stop=True)
    cb = EarlyStopping("val_loss")
    cb.setup(trainer, None, "fit")
    trainer.callback_metrics = {"val_loss": torch.tensor(1.0)}
    cb.on_train_epoch_end(trainer, None)
    assert trainer.should_stop is True


def test_state_dict_round_trip(fake_trainer):
    cb = EarlyStopping("val_loss", patience=3)
    _run(cb, fake_trainer(), [3.0, 2.0, 2.5, 2.6])
    state = cb.state_dict()
    assert set(state) == {
        "wait_count",
        "stopped_epoch",
        "best_score",
        "patience",
        "stopping_reason",
        "stopping_reason_message",
    }
    restored = EarlyStopping("val_loss", patience=7)
    restored.load_state_dict(state)
    assert (restored.wait_count, restored.patience, float(restored.best_score)) == (2, 3, 2.0)
    # one more non-improving check exhausts the restored patience
    trainer = fake_trainer()
    restored.setup(trainer, None, "fit")
    trainer.callback_metrics = {"val_loss": torch.tensor(2.1)}
    restored.on_train_epoch_end(trainer, None)
    assert trainer.should_stop


def test_verbose_logs(fake_trainer, caplog):
    cb = EarlyStopping("val_loss", verbose=True, patience=1)
    with caplog.at_level(logging.INFO, logger="plkit.callbacks.early_stopping"):
        _run(cb, fake_trainer(), [2.0, 1.0, 1.5])
    assert "Metric val_loss improved. New best score: 2.000" in caplog.text
    assert (
        "Metric val_loss improved by 1.000 >= min_delta = 0.0. New best score: 1.000" in caplog.text
    )
    assert "did not improve in the last 1 records. Best score: 1.000" in caplog.text


def test_log_rank_prefix_in_multi_process(fake_trainer, caplog):
    trainer = fake_trainer(world_size=2, global_rank=1)
    with caplog.at_level(logging.INFO, logger="plkit.callbacks.early_stopping"):
        EarlyStopping._log_info(trainer, "hello", log_rank_zero_only=False)
        EarlyStopping._log_info(trainer, "hidden", log_rank_zero_only=True)
    assert "[rank: 1] hello" in caplog.text and "hidden" not in caplog.text
