"""What ``configure_optimizers`` may return, and the errors for everything else.

Accepted (Lightning 2.x): one optimizer; a list or tuple of optimizers; ``([optimizers],
[schedulers])``; ``{"optimizer": ..., "lr_scheduler": scheduler or config dict, "monitor": ...}``;
a list of such dicts; ``None`` (a warning, no optimization). Several optimizers need manual
optimization. Anything else fails at ``fit`` before the first training_step, with a message that
says what to return instead. The weights each accepted form trains to are checked in
``test_optimization_parity.py``.

Run: ``python -m pytest packages/plkit/tests/test_optimizers_parsing.py -q``
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl

Configure = Callable[["_Module"], Any]


class _Module(pl.LightningModule):
    """Two layers (so two optimizers can split them); ``configure(self)`` is the return value."""

    def __init__(self, configure: Configure, manual: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.first = nn.Linear(4, 4)
        self.second = nn.Linear(4, 1)
        self.configure = configure
        self.automatic_optimization = not manual
        self.steps = 0
        self.returned: Any = None

    def _loss(self, batch: Any) -> torch.Tensor:
        x, y = batch
        return F.mse_loss(self.second(self.first(x)), y)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        self.steps += 1
        loss = self._loss(batch)
        self.log("val_loss", loss)  # what the plateau schedulers below monitor
        if self.automatic_optimization:
            return loss
        opts = self.optimizers()
        for opt in opts if isinstance(opts, list) else [opts]:
            opt.zero_grad()
            self.manual_backward(self._loss(batch))
            opt.step()
        return None

    def configure_optimizers(self) -> Any:
        self.returned = self.configure(self)
        return self.returned


def _fit(model: _Module, **flags: Any) -> pl.Trainer:
    g = torch.Generator().manual_seed(1)
    data = TensorDataset(torch.randn(6, 4, generator=g), torch.randn(6, 1, generator=g))
    flags = {"max_epochs": 1, **flags}
    trainer = pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        **flags,
    )
    trainer.fit(model, DataLoader(data, batch_size=2))
    return trainer


def _sgd(m: _Module, part: str = "all") -> torch.optim.Optimizer:
    params = {"all": m.parameters(), "first": m.first.parameters(), "second": m.second.parameters()}
    return torch.optim.SGD(params[part], lr=0.1)


def _step_lr(opt: torch.optim.Optimizer) -> Any:
    return torch.optim.lr_scheduler.StepLR(opt, step_size=1)


def _plateau(opt: torch.optim.Optimizer) -> Any:
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt)


def _with(
    make: Callable[[torch.optim.Optimizer], Any], wrap: Callable[[Any, Any], Any]
) -> Configure:
    """``wrap(optimizer, make(optimizer))`` for one SGD over every parameter."""

    def configure(m: _Module) -> Any:
        opt = _sgd(m)
        return wrap(opt, make(opt))

    return configure


def _two(wrap: Callable[[Any, Any, Any, Any], Any]) -> Configure:
    """``wrap(opt1, opt2, sched1, sched2)`` for one SGD per layer."""

    def configure(m: _Module) -> Any:
        o1, o2 = _sgd(m, "first"), _sgd(m, "second")
        return wrap(o1, o2, _step_lr(o1), _step_lr(o2))

    return configure


# --------------------------------------------------------------------------------------------
# accepted forms: optimizers and scheduler configs as the Trainer exposes them
# --------------------------------------------------------------------------------------------

# (interval, frequency, monitor, strict, name, reduce_on_plateau)
_DEFAULT = ("epoch", 1, None, True, None, False)

_VALID = [
    # id, configure, manual, optimizers expected, scheduler configs expected
    ("optimizer", _sgd, False, 1, []),
    ("list", lambda m: [_sgd(m)], False, 1, []),
    ("tuple", lambda m: (_sgd(m),), False, 1, []),
    ("dict_optimizer_only", lambda m: {"optimizer": _sgd(m)}, False, 1, []),
    ("two_lists", _with(_step_lr, lambda o, s: ([o], [s])), False, 1, [_DEFAULT]),
    (
        "two_lists_config",
        _with(
            _step_lr,
            lambda o, s: (
                [o],
                [{"scheduler": s, "interval": "step", "frequency": 3, "name": "my_lr"}],
            ),
        ),
        False,
        1,
        [("step", 3, None, True, "my_lr", False)],
    ),
    (
        "dict",
        _with(_step_lr, lambda o, s: {"optimizer": o, "lr_scheduler": s}),
        False,
        1,
        [_DEFAULT],
    ),
    (
        "dict_plateau_monitor",
        _with(_plateau, lambda o, s: {"optimizer": o, "lr_scheduler": s, "monitor": "val_loss"}),
        False,
        1,
        [("epoch", 1, "val_loss", True, None, True)],
    ),
    (
        "dict_plateau_config",
        _with(
            _plateau,
            lambda o, s: {
                "optimizer": o,
                "lr_scheduler": {
                    "scheduler": s,
                    "monitor": "val_loss",
                    "strict": False,
                    "frequency": 2,
                },
            },
        ),
        False,
        1,
        [("epoch", 2, "val_loss", False, None, True)],
    ),
    (
        "list_of_dicts",
        _with(
            _step_lr,
            lambda o, s: [{"optimizer": o, "lr_scheduler": {"scheduler": s, "interval": "step"}}],
        ),
        False,
        1,
        [("step", 1, None, True, None, False)],
    ),
    ("manual_list", _two(lambda o1, o2, s1, s2: [o1, o2]), True, 2, []),
    (
        "manual_two_lists",
        _two(lambda o1, o2, s1, s2: ([o1, o2], [s1, s2])),
        True,
        2,
        [_DEFAULT, _DEFAULT],
    ),
    (
        "manual_list_of_dicts",
        _two(lambda o1, o2, s1, s2: [{"optimizer": o1, "lr_scheduler": s1}, {"optimizer": o2}]),
        True,
        2,
        [_DEFAULT],
    ),
]


def _config_tuple(config: Any) -> tuple:
    return (
        config.interval,
        config.frequency,
        config.monitor,
        config.strict,
        config.name,
        config.reduce_on_plateau,
    )


def _returned_optimizers(returned: Any) -> list[Any]:
    if isinstance(returned, torch.optim.Optimizer):
        return [returned]
    if isinstance(returned, dict):
        return [returned["optimizer"]]
    if len(returned) == 2 and isinstance(returned[0], list):
        return list(returned[0])
    return [r["optimizer"] if isinstance(r, dict) else r for r in returned]


@pytest.mark.parametrize(
    ("configure", "manual", "n_opts", "configs"),
    [pytest.param(*case[1:], id=case[0]) for case in _VALID],
)
def test_accepted_forms(configure: Configure, manual: bool, n_opts: int, configs: list) -> None:
    model = _Module(configure, manual=manual)
    trainer = _fit(model)
    assert trainer.optimizers == _returned_optimizers(model.returned)
    assert len(trainer.optimizers) == n_opts
    assert [_config_tuple(c) for c in trainer.lr_scheduler_configs] == configs
    for config in trainer.lr_scheduler_configs:
        assert config.scheduler.optimizer in trainer.optimizers
    assert model.steps == 3
    assert not torch.equal(model.second.weight, _Module(configure).second.weight)  # it trained


def test_two_lists_form_accepts_a_single_scheduler() -> None:
    trainer = _fit(_Module(_with(_step_lr, lambda o, s: ([o], s))))
    assert [_config_tuple(c) for c in trainer.lr_scheduler_configs] == [_DEFAULT]


def test_none_warns_and_trains_nothing() -> None:
    model = _Module(lambda m: None)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.warns(UserWarning, match=r"(?i)configure_optimizers.*None"):
        trainer = _fit(model)
    # Lightning's stand-in: one optimizer without parameter groups, whose steps change nothing
    (stand_in,) = trainer.optimizers
    assert repr(stand_in) == "No Optimizer" and stand_in.param_groups == []
    assert trainer.lr_scheduler_configs == []
    assert model.steps == 3  # training_step still runs
    assert trainer.global_step == 3  # and the steps count, as in Lightning
    for old, new in zip(before, model.parameters()):
        assert torch.equal(old, new)


# --------------------------------------------------------------------------------------------
# rejected forms
# --------------------------------------------------------------------------------------------

# (searched with re.DOTALL) how an error that "shows the accepted forms" reads: it names the optimizer, the list and the
# dict forms with their keys
_FORMS = r"(?=.*optimizer)(?=.*list)(?=.*'optimizer')(?=.*lr_scheduler)"

_BAD = [
    # id, configure, what the message must say
    ("a_string", lambda m: "sgd", _FORMS),
    ("a_number", lambda m: 0.1, _FORMS),
    (
        "dict_without_optimizer",
        _with(_step_lr, lambda o, s: {"lr_scheduler": s}),
        r"'optimizer'.*" + _FORMS,
    ),
    (
        "config_without_scheduler",
        _with(_step_lr, lambda o, s: {"optimizer": o, "lr_scheduler": {"interval": "step"}}),
        r"'scheduler'",
    ),
    (
        "interval_batch",
        _with(
            _step_lr,
            lambda o, s: {"optimizer": o, "lr_scheduler": {"scheduler": s, "interval": "batch"}},
        ),
        r"interval.*'batch'.*('epoch'.*'step'|'step'.*'epoch')",
    ),
    (
        "frequency_0",
        _with(
            _step_lr,
            lambda o, s: {"optimizer": o, "lr_scheduler": {"scheduler": s, "frequency": 0}},
        ),
        r"frequency.*0",
    ),
    (
        "plateau_without_monitor",
        _with(_plateau, lambda o, s: {"optimizer": o, "lr_scheduler": s}),
        r"ReduceLROnPlateau.*monitor",
    ),
    (
        "plateau_config_without_monitor",
        _with(
            _plateau,
            lambda o, s: {"optimizer": o, "lr_scheduler": {"scheduler": s, "interval": "epoch"}},
        ),
        r"ReduceLROnPlateau.*monitor",
    ),
    ("non_optimizer_in_list", lambda m: [_sgd(m), "adam"], _FORMS),
    ("scheduler_in_optimizer_list", _with(_step_lr, lambda o, s: [o, s]), _FORMS),
    ("not_a_scheduler", lambda m: ([_sgd(m)], [42]), r"(?i)int.*scheduler"),
]


@pytest.mark.parametrize(
    ("configure", "message"), [pytest.param(*case[1:], id=case[0]) for case in _BAD]
)
def test_rejected_forms_fail_before_training_with_a_helpful_message(
    configure: Configure, message: str
) -> None:
    model = _Module(configure)
    # MisconfigurationException (a ValueError and a TypeError) where Lightning raises it; a dict
    # without "optimizer" is a KeyError, as under Lightning
    with pytest.raises((ValueError, TypeError, KeyError)) as info:
        _fit(model)
    assert re.search(message, str(info.value), re.DOTALL), str(info.value)
    assert model.steps == 0


@pytest.mark.parametrize(
    ("configure", "message"),
    [
        pytest.param(
            _with(_step_lr, lambda o, s: {"optimizer": o, "scheduler": s}),
            r"unsupported keys in the optimizer configuration: \{'scheduler'\}",
            id="unknown_key",
        ),
        pytest.param(
            _with(
                _step_lr,
                lambda o, s: {"optimizer": o, "lr_scheduler": {"scheduler": s, "every": 2}},
            ),
            r"unsupported keys in the lr scheduler dict: \{'every'\}",
            id="unknown_config_key",
        ),
    ],
)
def test_unknown_keys_warn_and_are_ignored(configure: Configure, message: str) -> None:
    model = _Module(configure)  # Lightning's behaviour: a RuntimeWarning, then training
    with pytest.warns(RuntimeWarning, match=message):
        _fit(model)
    assert model.steps == 3


@pytest.mark.filterwarnings("ignore:Detected call of")  # the stray scheduler is stepped today
def test_scheduler_of_an_optimizer_not_returned_is_rejected() -> None:
    def configure(m: _Module) -> Any:
        other = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
        return {"optimizer": _sgd(m), "lr_scheduler": _step_lr(other)}

    model = _Module(configure)
    with pytest.raises((ValueError, TypeError), match="optimizer"):
        _fit(model)
    assert model.steps == 0


@pytest.mark.parametrize("form", ["list", "two_lists", "list_of_dicts"])
def test_several_optimizers_need_manual_optimization(form: str) -> None:
    wraps = {
        "list": lambda o1, o2, s1, s2: [o1, o2],
        "two_lists": lambda o1, o2, s1, s2: ([o1, o2], [s1, s2]),
        "list_of_dicts": lambda o1, o2, s1, s2: [{"optimizer": o1}, {"optimizer": o2}],
    }
    model = _Module(_two(wraps[form]))
    with pytest.raises((ValueError, TypeError, RuntimeError), match=r"(?i)manual"):
        _fit(model)
    assert model.steps == 0
