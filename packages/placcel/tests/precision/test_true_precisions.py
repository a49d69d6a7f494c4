import dataclasses
from collections import namedtuple

import pytest
import torch

from placcel.precision import DoublePrecision, HalfPrecision

Pair = namedtuple("Pair", ["x", "y"])


@dataclasses.dataclass(frozen=True)
class Sample:
    features: torch.Tensor
    label: torch.Tensor


@pytest.mark.parametrize(
    ("precision", "dtype"),
    [
        (DoublePrecision(), torch.float64),
        (HalfPrecision("16-true"), torch.float16),
        (HalfPrecision("bf16-true"), torch.bfloat16),
    ],
)
def test_converts_module_inputs_and_default_dtype(precision, dtype):
    model = precision.convert_module(
        torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    )
    assert {p.dtype for p in model.parameters()} == {dtype}
    assert model[1].running_mean.dtype == dtype
    assert model[1].num_batches_tracked.dtype == torch.int64  # integer buffers stay

    batch = {
        "pair": Pair(torch.ones(2), torch.tensor([1, 2])),
        "sample": Sample(torch.ones(3), torch.tensor(1)),
    }
    converted = precision.convert_input(batch)
    assert converted["pair"].x.dtype == dtype and converted["pair"].y.dtype == torch.int64
    assert isinstance(converted["pair"], Pair)
    assert (
        converted["sample"].features.dtype == dtype
        and converted["sample"].label.dtype == torch.int64
    )

    assert precision.has_forward_context and precision.converts_input
    with precision.forward_context():
        assert torch.get_default_dtype() == dtype
        assert torch.zeros(1).dtype == dtype
    assert torch.get_default_dtype() == torch.float32


def test_default_dtype_is_restored_after_an_error():
    with pytest.raises(RuntimeError), DoublePrecision().forward_context():
        raise RuntimeError("inside forward")
    assert torch.get_default_dtype() == torch.float32


def test_half_precision_rejects_other_names():
    with pytest.raises(ValueError, match=r"write one of \['16-true', 'bf16-true'\]"):
        HalfPrecision("16-mixed")


def test_double_precision_trains():
    precision = DoublePrecision()
    model = precision.convert_module(torch.nn.Linear(2, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = precision.convert_input(torch.ones(4, 2))

    def closure():
        optimizer.zero_grad()
        with precision.forward_context():
            loss = model(x).pow(2).mean()
        precision.backward(loss, lambda t: t.backward())
        return loss

    first = precision.optimizer_step(optimizer, closure, lambda: None)
    second = precision.optimizer_step(optimizer, closure, lambda: None)
    assert first.dtype == torch.float64
    assert second < first
