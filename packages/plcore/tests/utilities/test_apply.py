"""Tests for plcore.utilities.apply."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict, namedtuple

import pytest
import torch

from plcore.utilities.apply import apply_to_collection, move_data_to_device

Pair = namedtuple("Pair", ["left", "right"])


@dataclasses.dataclass
class Batch:
    x: torch.Tensor
    meta: dict
    label: str = "train"
    cached: torch.Tensor = dataclasses.field(init=False, default=None)


@dataclasses.dataclass(frozen=True)
class Frozen:
    x: torch.Tensor


def _double(t):
    return t * 2


def test_nested_namedtuple_dataclass_dict():
    batch = {
        "pair": Pair(torch.ones(1), Pair(torch.ones(1), 3)),
        "batch": Batch(x=torch.ones(2), meta={"ids": [torch.ones(1), "a"]}),
        "items": [torch.ones(1), (torch.ones(1),)],
    }
    out = apply_to_collection(batch, torch.Tensor, _double)
    assert isinstance(out["pair"], Pair) and isinstance(out["pair"].right, Pair)
    assert (
        out["pair"].left.item() == 2
        and out["pair"].right.left.item() == 2
        and out["pair"].right.right == 3
    )
    assert isinstance(out["batch"], Batch)
    assert torch.equal(out["batch"].x, torch.full((2,), 2.0))
    assert out["batch"].meta["ids"][0].item() == 2 and out["batch"].meta["ids"][1] == "a"
    assert out["batch"].label == "train"
    assert isinstance(out["items"], list) and isinstance(out["items"][1], tuple)
    assert out["items"][1][0].item() == 2
    # the input is untouched
    assert batch["batch"].x.sum().item() == 2
    assert batch["pair"].left.item() == 1


def test_mapping_types_are_kept():
    ordered = OrderedDict([("b", torch.ones(1)), ("a", torch.ones(1))])
    out = apply_to_collection(ordered, torch.Tensor, _double)
    assert type(out) is OrderedDict and list(out) == ["b", "a"]
    default = defaultdict(list, {"x": torch.ones(1)})
    out = apply_to_collection(default, torch.Tensor, _double)
    assert type(out) is defaultdict and out.default_factory is list
    assert out["missing"] == []


def test_sets_and_strings():
    out = apply_to_collection({1, 2, "a"}, int, lambda v: v * 10)
    assert out == {10, 20, "a"}
    assert type(apply_to_collection(frozenset({1}), int, lambda v: v + 1)) is frozenset
    assert apply_to_collection("text", int, lambda v: v) == "text"


def test_wrong_dtype_and_extra_args():
    data = [1, True, 2.0]
    out = apply_to_collection(
        data, (int, float), lambda v, k, scale=1: v * k * scale, 2, wrong_dtype=bool, scale=3
    )
    assert out == [6, True, 12.0]


def test_include_none_false_drops_entries():
    data = {"keep": 1, "drop": 2, "seq": [1, 2]}
    out = apply_to_collection(data, int, lambda v: v if v == 1 else None, include_none=False)
    assert out == {"keep": 1, "seq": [1]}
    out = apply_to_collection(data, int, lambda v: None)
    assert out == {"keep": None, "drop": None, "seq": [None, None]}


def test_dataclass_non_init_field_kept_and_none_kept_when_dropped():
    batch = Batch(x=torch.ones(1), meta={})
    batch.cached = torch.ones(1)
    out = apply_to_collection(batch, torch.Tensor, _double)
    assert out.cached is batch.cached  # init=False fields are not transformed
    out = apply_to_collection(batch, torch.Tensor, lambda t: None, include_none=False)
    assert out.x is batch.x


def test_frozen_dataclass_needs_allow_frozen():
    frozen = Frozen(torch.ones(1))
    with pytest.raises(ValueError, match="allow_frozen=True"):
        apply_to_collection(frozen, torch.Tensor, _double)
    out = apply_to_collection(frozen, torch.Tensor, _double, allow_frozen=True)
    assert out.x.item() == 2 and frozen.x.item() == 1


class _Custom:
    def __init__(self):
        self.device = None

    def to(self, device):
        self.device = device  # forgets to return self: still handled


def test_move_data_to_device_nested(monkeypatch):
    custom = _Custom()
    batch = {
        "a": Pair(torch.ones(1), [torch.zeros(2)]),
        "b": Batch(x=torch.ones(1), meta={"c": custom}),
        "s": "x",
    }
    out = move_data_to_device(batch, "meta")
    assert out["a"].left.device.type == "meta" and out["a"].right[0].device.type == "meta"
    assert out["b"].x.device.type == "meta"
    assert out["b"].meta["c"] is custom and custom.device == torch.device("meta")
    assert out["s"] == "x"
    assert batch["a"].left.device.type == "cpu"


def test_move_data_to_device_non_blocking_only_for_accelerators(monkeypatch):
    seen = []
    real_to = torch.Tensor.to

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("non_blocking", False))
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", spy)
    move_data_to_device([torch.ones(1)], torch.device("cpu"))
    move_data_to_device([torch.ones(1)], "meta")
    assert seen == [False, True]


def test_move_data_to_device_frozen_dataclass_and_bad_device():
    out = move_data_to_device(Frozen(torch.ones(1)), "meta")
    assert out.x.device.type == "meta"
    with pytest.raises(TypeError, match="device"):
        move_data_to_device(torch.ones(1), 1.5)
