from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from plkit.callbacks import Timer
from plkit.callbacks import timer as timer_module


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(timer_module.time, "monotonic", lambda: now[0])
    return now


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        ("00:12:00:00", 43200.0),
        (" 01:00:00:05 ", 86405.0),
        (timedelta(minutes=2), 120.0),
        ({"hours": 1, "minutes": 1}, 3660.0),
        (None, None),
    ],
)
def test_duration_forms(duration, seconds):
    assert Timer(duration)._duration == seconds


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"duration": "12:00"}, ValueError, "DD:HH:MM:SS"),
        ({"duration": {"hourz": 1}}, ValueError, "timedelta arguments"),
        ({"duration": 3600}, TypeError, "timedelta"),
        ({"duration": timedelta(seconds=-1)}, ValueError, "negative"),
        ({"interval": "batch"}, ValueError, "'step' or 'epoch'"),
    ],
)
def test_invalid(kwargs, error, match):
    with pytest.raises(error, match=match):
        Timer(**kwargs)


def test_stage_times(clock):
    timer = Timer()
    assert timer.start_time() is None and timer.time_elapsed() == 0.0
    timer.on_train_start(None, None)
    clock[0] += 10
    timer.on_validation_start(None, None)
    clock[0] += 3
    timer.on_validation_end(None, None)
    assert timer.time_elapsed("train") == 13 and timer.time_elapsed("validate") == 3
    clock[0] += 2
    timer.on_train_end(None, None)
    clock[0] += 100
    assert timer.time_elapsed() == 15 and timer.end_time("train") == 1015
    assert timer.start_time("validate") == 1010 and timer.time_remaining() is None
    timer.on_test_start(None, None)
    clock[0] += 1
    assert timer.time_elapsed("test") == 1


def test_unknown_stage():
    with pytest.raises(ValueError, match="Unknown stage 'training'"):
        Timer().time_elapsed("training")


def test_stops_at_step_when_time_is_up(fake_trainer, clock, caplog):
    trainer = fake_trainer()
    timer = Timer(timedelta(seconds=5))
    timer.on_fit_start(trainer, None)
    timer.on_train_start(trainer, None)
    clock[0] += 4
    timer.on_train_batch_end(trainer, None, None, None, 0)
    assert not trainer.should_stop and timer.time_remaining() == 1
    clock[0] += 1
    with caplog.at_level(logging.INFO, logger="plkit.callbacks.timer"):
        timer.on_train_batch_end(trainer, None, None, None, 1)
    assert trainer.should_stop
    assert "Time limit reached. Elapsed time is 0:00:05. Signaling Trainer to stop." in caplog.text
    assert trainer.strategy.broadcasts[-1] is True  # rank 0's decision is used everywhere


def test_epoch_interval_ignores_steps(fake_trainer, clock):
    trainer = fake_trainer()
    timer = Timer(timedelta(seconds=1), interval="epoch", verbose=False)
    timer.on_train_start(trainer, None)
    clock[0] += 2
    timer.on_train_batch_end(trainer, None, None, None, 0)
    assert not trainer.should_stop
    timer.on_train_epoch_end(trainer, None)
    assert trainer.should_stop


def test_resume_keeps_counting(fake_trainer, clock):
    timer = Timer(timedelta(seconds=10))
    timer.on_train_start(None, None)
    clock[0] += 6
    state = timer.state_dict()
    assert state["time_elapsed"]["train"] == 6 and state["time_elapsed"]["test"] == 0
    resumed = Timer(timedelta(seconds=10))
    resumed.load_state_dict(state)
    trainer = fake_trainer()
    resumed.on_fit_start(trainer, None)
    resumed.on_train_start(trainer, None)
    assert resumed.time_elapsed() == 6 and not trainer.should_stop
    clock[0] += 4
    resumed.on_train_batch_end(trainer, None, None, None, 0)
    assert trainer.should_stop


def test_depleted_resume_stops_at_fit_start(fake_trainer):
    timer = Timer(timedelta(seconds=10), interval="epoch")
    timer.load_state_dict({"time_elapsed": {"train": 11.0}})
    trainer = fake_trainer()
    timer.on_fit_start(trainer, None)
    assert trainer.should_stop


def test_stage_enum_accepted(clock):
    from enum import Enum

    class Stage(str, Enum):
        TRAINING = "train"

    timer = Timer()
    timer.on_train_start(None, None)
    clock[0] += 2
    assert timer.time_elapsed(Stage.TRAINING) == 2
