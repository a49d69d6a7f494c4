"""When fit validates: ``RunState.validation_due`` is the one answer, checked flag by flag.

Each row runs a few training epochs of ``batches`` batches through the run state's progress and
collects the ``(epoch, batch_idx)`` after which validation is due. The end-to-end behaviour of the
same flags (hooks, metrics, checkpoints) is compared with Lightning by the compatibility suite.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import plkit as pl
from plkit._flags import Plan
from plkit._runstate import RunState, ValidationSchedule


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
