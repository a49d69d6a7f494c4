from __future__ import annotations

import enum
from argparse import Namespace
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from pllog._params import add_prefix, convert_params, flatten_dict, sanitize_params, to_number


class Color(enum.Enum):
    RED = 1


@dataclass
class Config:
    lr: float = 0.1
    layers: int = 2


def test_convert_params() -> None:
    assert convert_params(None) == {}
    assert convert_params(Namespace(a=1)) == {"a": 1}
    assert convert_params(Config()) == {"lr": 0.1, "layers": 2}
    source = {"a": 1}
    converted = convert_params(source)
    assert converted == source and converted is not source
    with pytest.raises(TypeError, match="params"):
        convert_params([1, 2])  # type: ignore[arg-type]


def test_flatten_dict_nests_with_the_delimiter() -> None:
    params = {
        "opt": {"name": "adam", "betas": {"b1": 0.9}},
        "ns": Namespace(x=1),
        "empty": {},
        "lr": 1,
    }
    assert flatten_dict(params) == {
        "opt/name": "adam",
        "opt/betas/b1": 0.9,
        "ns/x": 1,
        "empty": {},
        "lr": 1,
    }
    assert flatten_dict({"a": {"b": 1}}, delimiter=".") == {"a.b": 1}


def test_sanitize_params() -> None:
    out = sanitize_params(
        {
            "b": True,
            "i": 3,
            "f": 0.5,
            "s": "x",
            "none": None,
            "enum": Color.RED,
            "fn": len,
            "cls": Config,
            "t0": torch.tensor(2.5),
            "t2": torch.zeros(2, 2),
            "list": [1, 2],
        }
    )
    assert out["b"] is True and out["i"] == 3 and out["f"] == 0.5 and out["s"] == "x"
    assert out["none"] == "None"
    assert out["enum"] == "RED"
    assert out["fn"] == "len"
    assert out["cls"] == "Config"
    assert out["t0"] == 2.5
    assert isinstance(out["t2"], str)
    assert out["list"] == "[1, 2]"


def test_add_prefix_and_to_number() -> None:
    assert add_prefix({"loss": 1}, "train", "-") == {"train-loss": 1}
    assert add_prefix({"loss": 1}, "", "-") == {"loss": 1}
    assert to_number(torch.tensor(3.0)) == 3.0 and isinstance(to_number(torch.tensor(3.0)), float)
    assert to_number(np.float32(2.0)) == 2.0
    assert to_number(5) == 5
