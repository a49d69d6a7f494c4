from contextlib import nullcontext

import torch

from placcel.precision import Precision


def _model_and_optimizer(cls=torch.optim.SGD, **kwargs):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    return model, cls(model.parameters(), **kwargs)


def test_defaults_are_no_ops():
    precision = Precision()
    model = torch.nn.Linear(2, 2)
    batch = {"x": torch.ones(2)}
    assert precision.precision == "32-true"
    assert precision.has_forward_context is False
    assert precision.converts_input is False
    assert isinstance(precision.forward_context(), nullcontext)
    assert precision.convert_module(model) is model
    assert precision.convert_input(batch) is batch
    assert precision.state_dict() == {}


def test_backward_calls_backward_fn_with_args():
    calls = []
    loss = torch.tensor(2.0)
    Precision().backward(loss, lambda tensor, *args: calls.append((tensor, args)), "a", 1)
    assert calls == [(loss, ("a", 1))]


def test_optimizer_step_runs_closure_then_after_closure_then_step():
    model, optimizer = _model_and_optimizer(lr=0.1)
    before = model.weight.detach().clone()
    events = []

    def closure():
        events.append("closure")
        optimizer.zero_grad()
        loss = model(torch.ones(1, 3)).sum()
        loss.backward()
        return loss

    def after_closure():
        events.append("after")
        assert torch.equal(model.weight, before), "after_closure must run before the update"

    result = Precision().optimizer_step(optimizer, closure, after_closure)
    assert events == ["closure", "after"]
    assert torch.is_tensor(result)
    assert torch.allclose(model.weight, before - 0.1 * torch.ones(1, 3))


def test_lbfgs_may_evaluate_the_closure_several_times():
    model, optimizer = _model_and_optimizer(torch.optim.LBFGS, lr=0.5, max_iter=5)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    counts = {"closure": 0, "after": 0}

    def closure():
        counts["closure"] += 1
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    start = torch.nn.functional.mse_loss(model(x), y).item()
    Precision().optimizer_step(
        optimizer, closure, lambda: counts.__setitem__("after", counts["after"] + 1)
    )
    assert counts["closure"] > 1
    assert counts["after"] == counts["closure"]
    assert torch.nn.functional.mse_loss(model(x), y).item() < start
