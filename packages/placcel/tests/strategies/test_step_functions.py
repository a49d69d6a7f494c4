"""Strategy.step_functions: torch's own calls when nothing is added, the strategy's otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from placcel import Precision, SingleDeviceStrategy
from placcel.strategies.step import closure_runs_once, plain_stepper


def _strategy(precision: Precision | None = None, cls: type = SingleDeviceStrategy) -> Any:
    return cls(device=torch.device("cpu"), precision=precision)


def _problem(opt_cls: type = torch.optim.SGD, **kw: Any) -> tuple[nn.Module, Any, Callable]:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = opt_cls(model.parameters(), **(kw or {"lr": 0.1}))
    x = torch.randn(8, 3)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        return loss

    return model, opt, closure


def test_plain_strategy_uses_torch_calls() -> None:
    steps = _strategy().step_functions()
    assert steps.plain
    assert steps.backward is torch.Tensor.backward


class _ScaledBackward(Precision):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def backward(self, tensor: torch.Tensor, backward_fn: Callable[..., None], *args: Any) -> None:
        self.calls.append("backward")
        backward_fn(tensor * 2, *args)


class _CountingStep(Precision):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def optimizer_step(self, optimizer: Any, closure: Any, after_closure: Any) -> Any:
        self.calls.append("step")
        return super().optimizer_step(optimizer, closure, after_closure)


def test_a_precision_overriding_backward_is_honoured() -> None:
    precision = _ScaledBackward()
    steps = _strategy(precision).step_functions()
    assert not steps.plain
    w = torch.ones(1, requires_grad=True)
    steps.backward((w * 3).sum())
    assert precision.calls == ["backward"]
    assert w.grad is not None and w.grad.item() == 6.0  # scaled by the precision


def test_a_precision_overriding_the_step_is_honoured() -> None:
    precision = _CountingStep()
    steps = _strategy(precision).step_functions()
    _, opt, closure = _problem()
    steps.stepper(opt)(closure)
    steps.optimizer_step(opt, closure)
    assert precision.calls == ["step", "step"]


class _OwnBackwardStrategy(SingleDeviceStrategy):
    seen = 0

    def backward(self, tensor: torch.Tensor, backward_fn: Callable[..., None], *args: Any) -> None:
        type(self).seen += 1
        super().backward(tensor, backward_fn, *args)


def test_a_strategy_subclass_overriding_backward_is_honoured() -> None:
    steps = _strategy(cls=_OwnBackwardStrategy).step_functions()
    assert steps.backward is not torch.Tensor.backward
    w = torch.ones(1, requires_grad=True)
    steps.backward(w.sum())
    assert _OwnBackwardStrategy.seen == 1


@pytest.mark.parametrize(
    ("opt_cls", "kw"),
    [
        (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
        (torch.optim.Adam, {"lr": 0.1}),
        (torch.optim.LBFGS, {"lr": 0.5, "max_iter": 3}),
    ],
)
def test_plain_stepper_equals_torch_step_with_closure(opt_cls: type, kw: dict) -> None:
    after: list[int] = []
    model_a, opt_a, closure_a = _problem(opt_cls, **kw)
    model_b, opt_b, closure_b = _problem(opt_cls, **kw)
    step = plain_stepper(opt_a)
    for _ in range(3):
        loss_a = step(closure_a, lambda: after.append(1))
        loss_b = opt_b.step(closure_b)
        assert torch.equal(loss_a, loss_b)
    assert torch.equal(model_a.weight, model_b.weight)
    assert after  # ran after each closure evaluation
    assert closure_runs_once(opt_a) == (opt_cls is not torch.optim.LBFGS)


def test_a_pre_hook_registered_later_runs_before_the_closure() -> None:
    _, opt, closure = _problem()
    step = plain_stepper(opt)
    order: list[str] = []
    opt.register_step_pre_hook(lambda *a: order.append("pre-hook"))

    def recording_closure() -> torch.Tensor:
        order.append("closure")
        return closure()

    step(recording_closure)
    assert order == ["pre-hook", "closure"]  # torch's order, as with opt.step(closure)
