"""When fit validates: ``RunState.validation_due`` is the one answer, checked flag by flag.

Each row runs a few training epochs of ``batches`` batches through the run state's progress and
collects the ``(epoch, batch_idx)`` after which validation is due. The end-to-end behaviour of the
same flags (hooks, metrics, checkpoints) is compared with Lightning by the compatibility suite.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
import torch

import plkit as pl
from plkit._flags import Plan
from plkit._runstate import RunState, TimedValidationSchedule, ValidationSchedule


def _plan(**flags: Any) -> Plan:
    """The plan the Trainer resolves from ``flags`` (its own defaults for the rest)."""
    trainer = pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **flags,
    )
    return trainer._plan


def _due(
    batches: float,
    epochs: int = 3,
    enabled: bool = True,
    stop_at: tuple[int, int] | None = None,
    length: int | None = None,
    **flags: Any,
) -> list[tuple[int, int]]:
    plan = _plan(**flags)
    run = RunState(plan=plan, strategy=None, trainer=None, metrics=None)  # type: ignore[arg-type]
    run.schedule = ValidationSchedule.of(plan, ValidationSchedule.check_batch(plan, batches))
    run.schedule.enabled = enabled
    per_epoch = int(batches) if batches != math.inf else (length or 0)
    due = []
    for epoch in range(epochs):
        run.progress.epoch = epoch
        for batch_idx in range(per_epoch):
            run.progress.total_batch_idx += 1  # the loop counts the batch before asking
            if stop_at == (epoch, batch_idx):
                run.should_stop = True
            if run.validation_due(batch_idx, is_last=batch_idx == per_epoch - 1):
                due.append((epoch, batch_idx))
            if run.should_stop and run.may_stop_early():
                return due
    return due


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # once per epoch, at its last batch (the defaults)
        (dict(batches=4), [(0, 3), (1, 3), (2, 3)]),
        # a fraction of the epoch: every int(4 * 0.5) = 2 batches
        (dict(batches=4, val_check_interval=0.5), [(0, 1), (0, 3), (1, 1), (1, 3), (2, 1), (2, 3)]),
        (
            dict(batches=10, val_check_interval=0.25, epochs=1),
            [(0, 1), (0, 3), (0, 5), (0, 7), (0, 9)],
        ),
        # an int: every N batches of the epoch; the epoch's end is not a check by itself
        (dict(batches=5, val_check_interval=2, epochs=2), [(0, 1), (0, 3), (1, 1), (1, 3)]),
        # check_val_every_n_epoch=None: every N batches counted across epochs
        (
            dict(batches=2, val_check_interval=3, check_val_every_n_epoch=None),
            [(1, 0), (2, 1)],
        ),
        # every second epoch only
        (dict(batches=3, check_val_every_n_epoch=2, epochs=4), [(1, 2), (3, 2)]),
        (dict(batches=4, val_check_interval=0.5, check_val_every_n_epoch=3), [(2, 1), (2, 3)]),
        # no validation (no data, no validation_step or limit_val_batches=0)
        (dict(batches=4, enabled=False), []),
        # data without a length: at the epoch's end
        (dict(batches=math.inf, length=3, epochs=2), [(0, 2), (1, 2)]),
        # a stop request fit honours now: the batch it ends after validates
        (dict(batches=4, stop_at=(1, 1)), [(0, 3), (1, 1)]),
        # a stop request refused (min_epochs not met) does not validate early
        (dict(batches=4, stop_at=(0, 1), min_epochs=2, epochs=2), [(0, 3), (1, 3)]),
    ],
)
def test_validation_due(case: dict[str, Any], expected: list[tuple[int, int]]) -> None:
    assert _due(**case) == expected


@pytest.mark.parametrize(
    ("flags", "once"),
    [
        ({}, True),
        ({"val_check_interval": 0.5}, False),
        ({"val_check_interval": 10}, False),
        ({"check_val_every_n_epoch": 2}, False),
        ({"check_val_every_n_epoch": None, "val_check_interval": 10}, False),
    ],
)
def test_once_per_epoch(flags: dict[str, Any], once: bool) -> None:
    """What ModelCheckpoint and EarlyStopping read (``trainer.validates_once_per_epoch``)."""
    assert ValidationSchedule.of(_plan(**flags)).once_per_epoch is once


def test_int_interval_longer_than_epoch_names_the_fix() -> None:
    plan = _plan(val_check_interval=10)
    with pytest.raises(ValueError, match="check_val_every_n_epoch=None"):
        ValidationSchedule.check_batch(plan, 4)


# --- time-based val_check_interval -----------------------------------------------------------


class _Clock:
    """A ``time.monotonic`` that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("interval", ["00:00:00:30", {"seconds": 30}, timedelta(seconds=30)])
def test_time_interval_forms_give_a_timed_schedule(interval: Any) -> None:
    plan = _plan(val_check_interval=interval)
    schedule = ValidationSchedule.of(plan)
    assert isinstance(schedule, TimedValidationSchedule)
    assert schedule.seconds == 30.0
    assert schedule.once_per_epoch is False  # checkpoints and early stopping follow validation
    assert not isinstance(
        ValidationSchedule.of(_plan(val_check_interval=0.5)), TimedValidationSchedule
    )


def test_timed_schedule_validates_after_the_batch_that_ends_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Clock()
    monkeypatch.setattr("plkit._runstate.time.monotonic", clock)
    plan = _plan(val_check_interval={"seconds": 10})
    schedule = ValidationSchedule.of(plan)
    schedule.training_data_loaded(plan, 100)  # the clock starts with the training data
    assert schedule.val_check_batch is None  # no batch count, as in Lightning
    never = lambda: False  # noqa: E731
    due = []
    for batch_idx in range(40):
        clock.now += 1.0  # each batch takes a second
        if schedule.due_after(batch_idx, batch_idx == 39, batch_idx + 1, never):
            due.append(batch_idx)
            clock.now += 5.0  # validation's own time is not counted: the clock restarts after it
            schedule.validated()
    assert due == [9, 19, 29, 39]
    # a stop request that fit honours validates the batch before it, as with batch counts
    assert schedule.due_after(40, False, 41, lambda: True)


def test_timed_schedule_epoch_end_is_not_a_check_but_unsized_data_ends_with_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("plkit._runstate.time.monotonic", _Clock())
    plan = _plan(val_check_interval={"hours": 1})
    schedule = ValidationSchedule.of(plan)
    schedule.training_data_loaded(plan, 4)
    assert not schedule.due_after(3, True, 4, lambda: False)
    schedule.training_data_loaded(plan, math.inf)  # an IterableDataset without a length
    assert schedule.due_after(3, True, 4, lambda: False)


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        ({"val_check_interval": "1:2:3"}, r"val_check_interval='1:2:3'.*DD:HH:MM:SS"),
        ({"val_check_interval": {"minute": 1}}, "the dict must hold timedelta arguments"),
        (
            {"val_check_interval": 0.5, "check_val_every_n_epoch": None},
            "integer or a time-based duration",
        ),
    ],
)
def test_bad_time_interval_names_the_fix(flags: dict[str, Any], match: str) -> None:
    with pytest.raises(pl.utilities.exceptions.MisconfigurationException, match=match):
        _plan(**flags)


def test_fast_dev_run_ignores_a_time_interval() -> None:
    plan = _plan(val_check_interval={"days": 1}, fast_dev_run=True)
    assert not isinstance(ValidationSchedule.of(plan), TimedValidationSchedule)


class _Recorder(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
        self.validated_at: list[tuple[int, int]] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self.layer(batch).sum()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self.layer(batch).sum())

    def on_validation_start(self) -> None:
        if not self.trainer.sanity_checking:
            self.validated_at.append((self.current_epoch, self.global_step))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


@pytest.mark.parametrize(
    ("interval", "every", "expected", "ckpts"),
    [
        # a zero interval has always elapsed: validation after every batch
        ({"seconds": 0}, 1, [(e, s) for e in range(2) for s in (2 * e + 1, 2 * e + 2)], 1),
        # only in the epochs check_val_every_n_epoch picks
        ("00:00:00:00", 2, [(1, 3), (1, 4)], 1),
        # never elapsed: no validation at all, not even at the epoch's end, so no checkpoint
        ({"days": 1}, 1, [], 0),
    ],
)
def test_fit_with_time_interval(
    tmp_path: Any, interval: Any, every: int, expected: list[tuple[int, int]], ckpts: int
) -> None:
    model = _Recorder()
    data = torch.utils.data.DataLoader(torch.randn(8, 4), batch_size=4)
    trainer = pl.Trainer(
        max_epochs=2,
        val_check_interval=interval,
        check_val_every_n_epoch=every,
        default_root_dir=tmp_path,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[pl.callbacks.EarlyStopping("val_loss", patience=100)],
    )
    trainer.fit(model, data, data)
    assert model.validated_at == expected
    ckpt_dir = tmp_path / "checkpoints"
    assert len(list(ckpt_dir.glob("*.ckpt")) if ckpt_dir.exists() else []) == ckpts
