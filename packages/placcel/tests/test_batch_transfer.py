import dataclasses
from collections import OrderedDict, defaultdict, namedtuple

import torch

from placcel._apply import apply_to_tensors, move_data_to_device

META = torch.device("meta")
Point = namedtuple("Point", ["x", "y"])


@dataclasses.dataclass
class Batch:
    inputs: torch.Tensor
    names: list
    weight: float = 1.0
    cache: torch.Tensor = dataclasses.field(init=False, default=None)


@dataclasses.dataclass(frozen=True)
class Frozen:
    value: torch.Tensor


class Transferable:
    def __init__(self):
        self.device = None

    def to(self, device):
        self.device = device
        return self


class InPlace:
    def to(self, device):
        self.moved = device


def test_nested_containers_keep_their_types():
    batch = {
        "list": [torch.ones(1), (torch.ones(2), "text")],
        "point": Point(torch.ones(1), 3),
        "ordered": OrderedDict(a=torch.ones(1)),
        "default": defaultdict(list, b=[torch.ones(1)]),
        "frozen": Frozen(torch.ones(1)),
        "string": "keep",
        "number": 5,
    }
    moved = move_data_to_device(batch, META)
    assert moved["list"][0].device == META and moved["list"][1][0].device == META
    assert isinstance(moved["list"][1], tuple) and moved["list"][1][1] == "text"
    assert (
        isinstance(moved["point"], Point)
        and moved["point"].x.device == META
        and moved["point"].y == 3
    )
    assert isinstance(moved["ordered"], OrderedDict) and moved["ordered"]["a"].device == META
    assert isinstance(moved["default"], defaultdict) and moved["default"]["missing"] == []
    assert moved["frozen"].value.device == META
    assert (moved["string"], moved["number"]) == ("keep", 5)
    assert batch["list"][0].device.type == "cpu"  # the input is not modified


def test_dataclass_fields_including_init_false():
    batch = Batch(torch.ones(2), ["a"])
    batch.cache = torch.zeros(1)
    moved = move_data_to_device(batch, "meta")
    assert isinstance(moved, Batch) and moved is not batch
    assert moved.inputs.device == META and moved.cache.device == META
    assert moved.names == ["a"] and moved.weight == 1.0
    assert batch.inputs.device.type == "cpu"


def test_objects_with_a_to_method_are_moved():
    item = Transferable()
    assert move_data_to_device([item], META)[0] is item and item.device == META
    in_place = InPlace()
    assert move_data_to_device(in_place, META) is in_place and in_place.moved == META


def test_apply_to_tensors_only_touches_tensors():
    data = (torch.tensor([1.0]), [torch.tensor([2])], {"k": "v"})
    doubled = apply_to_tensors(data, lambda t: t * 2)
    assert doubled[0].item() == 2.0 and doubled[1][0].item() == 4 and doubled[2] == {"k": "v"}
