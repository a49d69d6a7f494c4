from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from plkit.callbacks import LearningRateMonitor


class RecordingLogger:
    def __init__(self) -> None:
        self.records: list[tuple[int | None, dict[str, float]]] = []

    def log_metrics(self, metrics, step=None):
        self.records.append((step, dict(metrics)))


def _params(n=1):
    return [torch.nn.Parameter(torch.zeros(1)) for _ in range(n)]


def _config(scheduler, name=None, interval="epoch"):
    return SimpleNamespace(
        scheduler=scheduler, name=name, interval=interval, frequency=1, monitor=None
    )


def _names(fake_trainer, optimizers, configs=(), **kwargs):
    logger = RecordingLogger()
    trainer = fake_trainer(
        loggers=[logger], optimizers=optimizers, lr_scheduler_configs=list(configs)
    )
    cb = LearningRateMonitor(**kwargs)
    cb.setup(trainer, None, "fit")
    cb.on_train_start(trainer, None)
    return cb, trainer, logger


def test_invalid_interval():
    with pytest.raises(ValueError, match="logging_interval='batch'"):
        LearningRateMonitor("batch")


def test_requires_a_logger(fake_trainer):
    with pytest.raises(
        ValueError,
        match="Cannot use `LearningRateMonitor` callback with `Trainer` that has no logger",
    ):
        LearningRateMonitor().setup(fake_trainer(loggers=[]), None, "fit")
    LearningRateMonitor().setup(fake_trainer(loggers=[]), None, "validate")  # only fit needs one


def test_names_single_and_groups(fake_trainer):
    adam = torch.optim.Adam(_params(), lr=0.1)
    sgd = torch.optim.SGD([{"params": _params()}, {"params": _params(), "lr": 0.5}], lr=0.01)
    adam2 = torch.optim.Adam(_params(), lr=0.2)
    cb, _, _ = _names(fake_trainer, [adam, sgd, adam2])
    assert list(cb.lrs) == ["lr-Adam", "lr-SGD/pg1", "lr-SGD/pg2", "lr-Adam-1"]


def test_names_from_group_names_and_scheduler_names(fake_trainer):
    named = torch.optim.SGD(
        [{"params": _params(), "name": "enc"}, {"params": _params(), "name": "dec"}], lr=0.1
    )
    single_named = torch.optim.Adam([{"params": _params(), "name": "head"}], lr=0.1)
    plain = torch.optim.SGD(_params(), lr=0.3)
    sched = torch.optim.lr_scheduler.StepLR(plain, 1)
    cb, _, _ = _names(fake_trainer, [named, single_named, plain], [_config(sched, name="my-lr")])
    assert list(cb.lrs) == ["my-lr", "lr-SGD/enc", "lr-SGD/dec", "lr-Adam/head"]


def test_duplicate_group_names_raise(fake_trainer):
    bad = torch.optim.SGD(
        [{"params": _params(), "name": "a"}, {"params": _params(), "name": "a"}], lr=0.1
    )
    with pytest.raises(ValueError, match="identical `name` values"):
        _names(fake_trainer, [bad])


def test_step_logging_with_momentum_and_weight_decay(fake_trainer):
    sgd = torch.optim.SGD(_params(), lr=0.1, momentum=0.9, weight_decay=0.01)
    adam = torch.optim.Adam(_params(), lr=0.2, betas=(0.8, 0.99))
    cb, trainer, logger = _names(
        fake_trainer, [sgd, adam], logging_interval="step", log_momentum=True, log_weight_decay=True
    )
    trainer.global_step = 4
    cb.on_train_batch_start(trainer, None, None, 0)
    cb.on_train_epoch_start(trainer, None)  # "step" does not log at epoch start
    assert logger.records == [
        (
            4,
            {
                "lr-SGD": 0.1,
                "lr-SGD-momentum": 0.9,
                "lr-SGD-weight_decay": 0.01,
                "lr-Adam": 0.2,
                "lr-Adam-momentum": 0.8,
                "lr-Adam-weight_decay": 0.0,
            },
        )
    ]
    assert cb.lrs == {"lr-SGD": [0.1], "lr-Adam": [0.2]}
    assert cb.last_momentum_values == {"lr-SGD-momentum": 0.9, "lr-Adam-momentum": 0.8}
    assert float(trainer.callback_metrics["lr-SGD"]) == pytest.approx(0.1)


def test_momentum_warning_when_missing(fake_trainer):
    rprop = torch.optim.Rprop(_params(), lr=0.1)
    with pytest.warns(RuntimeWarning, match="do not have momentum"):
        cb, trainer, logger = _names(fake_trainer, [rprop], log_momentum=True)
    cb.on_train_batch_start(trainer, None, None, 0)
    assert logger.records[0][1] == {"lr-Rprop": 0.1, "lr-Rprop-momentum": 0}


def test_default_interval_follows_each_scheduler(fake_trainer):
    opt_step = torch.optim.SGD(_params(), lr=0.1)
    opt_epoch = torch.optim.Adam(_params(), lr=0.2)
    free = torch.optim.RMSprop(_params(), lr=0.3)
    configs = [
        _config(torch.optim.lr_scheduler.StepLR(opt_step, 1), interval="step"),
        _config(torch.optim.lr_scheduler.StepLR(opt_epoch, 1), interval="epoch"),
    ]
    cb, trainer, logger = _names(fake_trainer, [opt_step, opt_epoch, free], configs)
    cb.on_train_epoch_start(trainer, None)
    cb.on_train_batch_start(trainer, None, None, 0)
    assert logger.records == [
        (0, {"lr-Adam": 0.2, "lr-RMSprop": 0.3}),
        (0, {"lr-SGD": 0.1, "lr-RMSprop": 0.3}),
    ]


def test_epoch_interval_logs_everything_at_epoch_start(fake_trainer):
    opt = torch.optim.SGD(_params(), lr=0.1)
    configs = [_config(torch.optim.lr_scheduler.StepLR(opt, 1), interval="step")]
    cb, trainer, logger = _names(fake_trainer, [opt], configs, logging_interval="epoch")
    cb.on_train_batch_start(trainer, None, None, 0)
    assert logger.records == []
    cb.on_train_epoch_start(trainer, None)
    assert logger.records == [(0, {"lr-SGD": 0.1})]


def test_follows_the_trainers_logging_cadence(fake_trainer):
    opt = torch.optim.SGD(_params(), lr=0.1)
    cb, trainer, logger = _names(fake_trainer, [opt], logging_interval="step")
    trainer.log_every_n_steps = 3
    for stepped in range(7):
        trainer.batches_that_stepped = stepped
        trainer.global_step = stepped * 2  # e.g. two optimizers: the logging step differs
        cb.on_train_batch_start(trainer, None, None, stepped)
    assert [step for step, _ in logger.records] == [2, 5]


def test_values_follow_the_scheduler(fake_trainer):
    opt = torch.optim.SGD(_params(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    cb, trainer, logger = _names(fake_trainer, [opt], [_config(sched, interval="step")])
    for step in range(3):
        trainer.global_step = step
        cb.on_train_batch_start(trainer, None, None, step)
        opt.step()
        sched.step()
    assert cb.lrs == {"lr-SGD": [1.0, 0.5, 0.25]}
    assert [r[1]["lr-SGD"] for r in logger.records] == [1.0, 0.5, 0.25]


def test_new_param_group_moves_history(fake_trainer):
    opt = torch.optim.SGD(_params(), lr=0.1)
    cb, trainer, logger = _names(fake_trainer, [opt])
    cb.on_train_batch_start(trainer, None, None, 0)
    opt.add_param_group({"params": _params(), "lr": 0.05})
    cb.on_train_batch_start(trainer, None, None, 1)
    assert cb.lrs == {"lr-SGD/pg1": [0.1, 0.1], "lr-SGD/pg2": [0.05]}
