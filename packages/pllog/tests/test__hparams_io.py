from __future__ import annotations

import enum
import math
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from pllog._hparams_io import load_hparams_from_yaml, save_hparams_to_yaml, to_plain


class Mode(enum.Enum):
    FAST = "fast"


class Opaque:
    def __str__(self) -> str:
        return "<opaque>"


HPARAMS = {
    "lr": 1e-05,
    "big": 1e20,
    "epochs": 3,
    "name": 'mlp "small": v1',
    "flag": True,
    "nothing": None,
    "layers": (64, 32),
    "opt": {"name": "adam", "betas": [0.9, 0.999]},
    "true": "yes",
    "10": "numeric key",
    "inf": math.inf,
}


def test_to_plain() -> None:
    assert to_plain(Mode.FAST) == "FAST"
    assert to_plain(torch.tensor([1.0, 2.0])) == [1.0, 2.0]
    assert to_plain(np.int64(4)) == 4
    assert to_plain(Path("/tmp/x")) == "/tmp/x"
    assert to_plain(Namespace(a=(1, 2))) == {"a": [1, 2]}
    assert to_plain({1, 3, 2}) == [1, 2, 3]
    assert to_plain(Opaque()) == "<opaque>"


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "hparams.yaml"
    save_hparams_to_yaml(path, HPARAMS)
    loaded = load_hparams_from_yaml(path)
    expected = {**HPARAMS, "layers": [64, 32]}
    assert loaded == expected
    assert isinstance(loaded["lr"], float) and isinstance(loaded["big"], float)
    assert list(loaded) == sorted(HPARAMS)  # keys sorted, as Lightning writes them


def test_written_as_lightning_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "hparams.yaml"
    save_hparams_to_yaml(path, {"units": [4, 8], "name": "net", "lr": 0.1, "deep": {"a": 1}})
    assert path.read_text() == "deep:\n  a: 1\nlr: 0.1\nname: net\nunits:\n- 4\n- 8\n"


def test_classes_and_functions_are_written_by_import_path(tmp_path: Path) -> None:
    path = tmp_path / "hparams.yaml"
    save_hparams_to_yaml(path, {"cls": torch.nn.Linear, "fn": math.sqrt, "fn2": lambda: 1})
    loaded = yaml.safe_load(path.read_text())
    assert loaded["cls"] == "torch.nn.modules.linear.Linear"
    assert loaded["fn"] == "math.sqrt"
    assert loaded["fn2"].startswith("<function")


def test_empty_and_namespace(tmp_path: Path) -> None:
    path = tmp_path / "hparams.yaml"
    save_hparams_to_yaml(path, {})
    assert load_hparams_from_yaml(path) == {}
    save_hparams_to_yaml(path, Namespace(a=1))
    assert load_hparams_from_yaml(path) == {"a": 1}
    assert not list(tmp_path.glob("*.tmp"))


def test_missing_file_warns(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Missing"):
        assert load_hparams_from_yaml(tmp_path / "nope.yaml") == {}


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="config_yaml"):
        save_hparams_to_yaml(tmp_path / "no" / "hparams.yaml", {"a": 1})


def test_dataclass_is_written_as_its_fields(tmp_path: Path) -> None:
    # Lightning writes `!!python/object:...Cfg`, which yaml.safe_load refuses.
    import dataclasses

    @dataclasses.dataclass
    class Cfg:
        lr: float = 0.1
        sizes: tuple = (4, 2)

    path = tmp_path / "hparams.yaml"
    save_hparams_to_yaml(path, {"cfg": Cfg()})
    assert yaml.safe_load(path.read_text()) == {"cfg": {"lr": 0.1, "sizes": [4, 2]}}
