from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest

from plcore.callback import Callback
from pllog import ProgressBar


def _bar(driver: SimpleNamespace, **trainer_attrs: Any) -> tuple[ProgressBar, SimpleNamespace]:
    bar = ProgressBar()
    trainer = driver.make_trainer(**trainer_attrs)
    bar.setup(trainer, None, "fit")
    return bar, trainer


def test_is_a_callback_and_enabled_by_default() -> None:
    bar = ProgressBar()
    assert isinstance(bar, Callback)
    assert bar.is_enabled and not bar.is_disabled
    bar.disable()
    assert bar.is_disabled
    bar.enable()
    assert bar.is_enabled


def test_setup_disables_on_other_ranks(driver: SimpleNamespace) -> None:
    bar, _ = _bar(driver, is_global_zero=False)
    assert bar.is_disabled


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({}, 2),  # one validation run
        ({"num_val_batches": [3, 2]}, 5),  # summed over loaders
        ({"num_val_batches": [3, 2], "val_check_batch": 2}, 5),  # per run, however many runs
        ({"check_val_every_n_epoch": 2, "current_epoch": 0}, 0),  # not due this epoch
        ({"check_val_every_n_epoch": 2, "current_epoch": 1}, 2),
        ({"num_val_batches": []}, 0),  # no validation loader
        ({"num_val_batches": [0]}, 0),
        ({"num_val_batches": [math.inf]}, math.inf),
        ({"check_val_every_n_epoch": None, "val_check_batch": 4, "current_epoch": 1}, 2),
    ],
)
def test_total_val_batches(driver: SimpleNamespace, attrs: dict[str, Any], expected: float) -> None:
    bar, _ = _bar(driver, **attrs)
    assert bar.total_val_batches == expected


def test_current_dataloader_totals(driver: SimpleNamespace) -> None:
    bar, trainer = _bar(
        driver,
        num_val_batches=[4, 5],
        num_sanity_val_batches=[2, 2],
        num_test_batches=[7, 8],
        num_predict_batches=[9],
        num_training_batches=math.inf,
    )
    assert bar.total_train_batches == math.inf
    assert bar.has_dataloader_changed(1) is True
    assert bar.has_dataloader_changed(1) is False
    assert bar.total_val_batches_current_dataloader == 5
    trainer.sanity_checking = True
    assert bar.total_val_batches_current_dataloader == 2
    assert bar.total_test_batches_current_dataloader == 8
    bar.reset_dataloader_idx_tracker()
    assert bar.total_predict_batches_current_dataloader == 9
    assert bar.has_dataloader_changed(0) is True


def test_get_metrics(driver: SimpleNamespace) -> None:
    bar, trainer = _bar(driver, progress_bar_metrics={"loss": 0.5})
    assert bar.get_metrics(trainer, None) == {"v_num": 3, "loss": 0.5}
    trainer.loggers = [SimpleNamespace(version="run_2024_long_name")]
    assert bar.get_metrics(trainer, None)["v_num"] == "name"  # a string's last four characters
    trainer.loggers = [SimpleNamespace(version=1), SimpleNamespace(version=9)]
    assert bar.get_metrics(trainer, None)["v_num"] == "1_9"  # several loggers: joined
    trainer.loggers = []
    assert bar.get_metrics(trainer, None) == {"loss": 0.5}
    trainer.loggers = [SimpleNamespace(version=3)]
    trainer.progress_bar_metrics = {"v_num": 1.0}
    with pytest.warns(UserWarning, match="already tracks a metric with the name"):
        assert bar.get_metrics(trainer, None) == {"v_num": 1.0}


def test_counters_follow_the_hooks(driver: SimpleNamespace) -> None:
    bar = ProgressBar()
    trainer = driver.make_trainer(val_check_batch=5)
    driver.fit(bar, trainer, epochs=1)
    assert bar.train_batch_idx == 10 and bar.val_batch_idx == 2
    driver.evaluate(bar, trainer, "test")
    driver.evaluate(bar, trainer, "predict")
    assert bar.test_batch_idx == 3 and bar.predict_batch_idx == 3


def test_descriptions() -> None:
    bar = ProgressBar()
    assert (bar.sanity_check_description, bar.train_description, bar.validation_description) == (
        "Sanity Checking",
        "Training",
        "Validation",
    )
    assert (bar.test_description, bar.predict_description) == ("Testing", "Predicting")
    assert bar.print("nothing") is None
