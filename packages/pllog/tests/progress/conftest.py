"""A fake Trainer (the attributes a progress bar reads) and a driver calling hooks in Lightning's order."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

MODULE = object()  # the bar never looks at the LightningModule


class TTYStream(io.StringIO):
    """Captured output that claims to be a terminal, so tqdm draws its bars."""

    def isatty(self) -> bool:
        return True


def make_trainer(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "num_training_batches": 10,
        "num_val_batches": [2],
        "num_sanity_val_batches": [2],
        "num_test_batches": [3],
        "num_predict_batches": [3],
        "val_check_batch": 10,
        "check_val_every_n_epoch": 1,
        "current_epoch": 0,
        "max_epochs": 2,
        "global_step": 0,
        "sanity_checking": False,
        "is_global_zero": True,
        "progress_bar_metrics": {},
        "loggers": [SimpleNamespace(version=3)],
        "state": SimpleNamespace(fn="fit"),
    }
    values.update(overrides)
    trainer = SimpleNamespace(**values)
    trainer.logger = trainer.loggers[0] if trainer.loggers else None
    return trainer


def run_eval(bar: Any, trainer: Any, stage: str, loaders: list[int]) -> None:
    """VALIDATION / TEST / PREDICT as in the hook-order spec (stage: validation, test, predict)."""
    getattr(bar, f"on_{stage}_start")(trainer, MODULE)
    getattr(bar, f"on_{stage}_epoch_start")(trainer, MODULE)
    for loader, batches in enumerate(loaders):
        for batch_idx in range(batches):
            getattr(bar, f"on_{stage}_batch_start")(trainer, MODULE, None, batch_idx, loader)
            getattr(bar, f"on_{stage}_batch_end")(trainer, MODULE, None, None, batch_idx, loader)
    if stage == "validation" and not trainer.sanity_checking:
        trainer.progress_bar_metrics = {**trainer.progress_bar_metrics, "val_loss": 0.25}
    getattr(bar, f"on_{stage}_epoch_end")(trainer, MODULE)
    getattr(bar, f"on_{stage}_end")(trainer, MODULE)


def _val_due(trainer: Any, batch_idx: int) -> bool:
    every_n = trainer.check_val_every_n_epoch
    if every_n is not None and (trainer.current_epoch + 1) % every_n:
        return False
    return (batch_idx + 1) % trainer.val_check_batch == 0


def fit(bar: Any, trainer: Any, epochs: int = 2, batches: int | None = None) -> None:
    """fit(): setup, sanity check, then epochs of training batches with validation when due."""
    trainer.state.fn = "fit"
    bar.setup(trainer, MODULE, "fit")
    bar.on_fit_start(trainer, MODULE)
    if sum(trainer.num_sanity_val_batches):
        trainer.sanity_checking = True
        bar.on_sanity_check_start(trainer, MODULE)
        run_eval(bar, trainer, "validation", trainer.num_sanity_val_batches)
        bar.on_sanity_check_end(trainer, MODULE)
        trainer.sanity_checking = False
    bar.on_train_start(trainer, MODULE)
    n_batches = trainer.num_training_batches if batches is None else batches
    for epoch in range(epochs):
        trainer.current_epoch = epoch
        bar.on_train_epoch_start(trainer, MODULE)
        for batch_idx in range(n_batches):
            bar.on_train_batch_start(trainer, MODULE, None, batch_idx)
            trainer.progress_bar_metrics = {
                **trainer.progress_bar_metrics,
                "loss": 1 / (batch_idx + 1),
            }
            trainer.global_step += 1
            bar.on_train_batch_end(trainer, MODULE, {"loss": None}, None, batch_idx)
            if sum(trainer.num_val_batches) and _val_due(trainer, batch_idx):
                run_eval(bar, trainer, "validation", trainer.num_val_batches)
        bar.on_train_epoch_end(trainer, MODULE)
    bar.on_train_end(trainer, MODULE)
    bar.on_fit_end(trainer, MODULE)
    bar.teardown(trainer, MODULE, "fit")


def evaluate(bar: Any, trainer: Any, fn: str) -> None:
    """validate() / test() / predict(): setup, one evaluation run, teardown."""
    trainer.state.fn = fn
    stage = {"validate": "validation", "test": "test", "predict": "predict"}[fn]
    loaders = {"validate": trainer.num_val_batches, "test": trainer.num_test_batches}.get(
        fn, trainer.num_predict_batches
    )
    bar.setup(trainer, MODULE, fn)
    run_eval(bar, trainer, stage, loaders)
    bar.teardown(trainer, MODULE, fn)


@pytest.fixture
def stdout(monkeypatch: pytest.MonkeyPatch) -> Callable[..., io.StringIO]:
    """Call it inside the test: ``out = stdout()`` replaces ``sys.stdout`` (where the bars draw,
    terminal or not) with a buffer.

    (pytest re-installs its own capture between fixture set-up and the test call, so the swap
    has to happen in the test body.)
    """

    def install(tty: bool = True) -> io.StringIO:
        stream = TTYStream() if tty else io.StringIO()
        monkeypatch.setattr(sys, "stdout", stream)
        return stream

    return install


@pytest.fixture
def driver() -> SimpleNamespace:
    return SimpleNamespace(make_trainer=make_trainer, fit=fit, evaluate=evaluate, run_eval=run_eval)


DriverT = Callable[..., Any]
