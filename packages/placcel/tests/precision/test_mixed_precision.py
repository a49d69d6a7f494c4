import pytest
import torch

from placcel.precision import MixedPrecision


def test_bf16_mixed_on_cpu_autocasts_without_scaler():
    precision = MixedPrecision("bf16-mixed", "cpu")
    model = torch.nn.Linear(4, 4)
    assert precision.has_forward_context and precision.scaler is None
    with precision.forward_context():
        assert model(torch.ones(2, 4)).dtype == torch.bfloat16
    assert model(torch.ones(2, 4)).dtype == torch.float32
    assert model.weight.dtype == torch.float32  # weights stay in float32
    assert precision.state_dict() == {}


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("16-mixed", "cpu"), {}, "not supported on CPU.*use precision='bf16-mixed'"),
        (
            ("bf16-mixed", "cpu"),
            {"scaler": torch.amp.GradScaler("cpu")},
            "does not need a GradScaler",
        ),
        (("32-true", "cpu"), {}, r"write one of \['16-mixed', 'bf16-mixed'\]"),
        (("bf16-mixed", "tpu"), {}, r"device_type='tpu'\) is not valid"),
    ],
)
def test_invalid_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        MixedPrecision(*args, **kwargs)


def _setup(scale=8.0):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    # An explicit scaler is the way to exercise the scaling path on CPU.
    precision = MixedPrecision(
        "16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu", init_scale=scale)
    )
    x = torch.randn(4, 3)
    return model, optimizer, precision, x


def _reference_grad(model, x):
    clone = torch.nn.Linear(3, 1)
    clone.load_state_dict(model.state_dict())
    clone(x).sum().backward()
    return clone.weight.grad


def test_scaler_scales_backward_and_unscales_before_after_closure():
    model, optimizer, precision, x = _setup(scale=8.0)
    expected = _reference_grad(model, x)
    before = model.weight.detach().clone()
    seen = {}

    def closure():
        optimizer.zero_grad()
        loss = model(x).sum()
        precision.backward(loss, lambda t: t.backward())
        seen["scaled"] = model.weight.grad.clone()
        return loss

    def after_closure():
        seen["after"] = model.weight.grad.clone()
        assert torch.equal(model.weight, before)

    result = precision.optimizer_step(optimizer, closure, after_closure)
    assert torch.allclose(seen["scaled"], 8.0 * expected)
    assert torch.allclose(seen["after"], expected)
    assert torch.allclose(model.weight, before - 0.1 * expected, atol=1e-6)
    assert torch.is_tensor(result)


def test_closure_returning_none_skips_the_step_and_the_next_step_still_works():
    model, optimizer, precision, x = _setup()
    before = model.weight.detach().clone()
    calls = []

    def skipping_closure():
        optimizer.zero_grad()
        return None

    assert (
        precision.optimizer_step(optimizer, skipping_closure, lambda: calls.append("after")) is None
    )
    assert calls == ["after"]
    assert torch.equal(model.weight, before)

    def closure():
        optimizer.zero_grad()
        loss = model(x).sum()
        precision.backward(loss, lambda t: t.backward())
        return loss

    precision.optimizer_step(
        optimizer, closure, lambda: None
    )  # must not say "unscale_ already called"
    assert not torch.equal(model.weight, before)


def test_state_dict_round_trip():
    *_, precision = _setup(scale=32.0)[:3]
    state = precision.state_dict()
    assert state["scale"] == 32.0
    other = MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu", init_scale=2.0))
    other.load_state_dict(state)
    assert other.scaler.get_scale() == 32.0


def test_lbfgs_with_scaler_is_refused():
    model, _, precision, _ = _setup()
    optimizer = torch.optim.LBFGS(model.parameters())
    with pytest.raises(TypeError, match="cannot step LBFGS"):
        precision.optimizer_step(optimizer, lambda: None, lambda: None)


@pytest.mark.cuda
def test_16_mixed_on_cuda_scales_and_steps():
    precision = MixedPrecision("16-mixed", "cuda")
    assert isinstance(precision.scaler, torch.amp.GradScaler)
    model = torch.nn.Linear(8, 1).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(16, 8, device="cuda")
    before = model.weight.detach().clone()

    def closure():
        optimizer.zero_grad()
        with precision.forward_context():
            out = model(x)
            assert out.dtype == torch.float16
            loss = out.float().pow(2).mean()
        precision.backward(loss, lambda t: t.backward())
        return loss

    precision.optimizer_step(optimizer, closure, lambda: None)
    assert not torch.equal(model.weight, before)
    assert precision.state_dict()["scale"] > 0
