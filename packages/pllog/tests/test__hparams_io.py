from __future__ import annotations

import enum
import math
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import torch

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


@pytest.mark.parametrize("with_yaml", [True, False], ids=["pyyaml", "no-pyyaml"])
def test_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_yaml: bool) -> None:
    if not with_yaml:
        monkeypatch.setitem(sys.modules, "yaml", None)  # makes `import yaml` raise ImportError
    path = tmp_path / "hparams.yaml"
    save_hparams_to_yaml(path, HPARAMS)
    loaded = load_hparams_from_yaml(path)
    expected = {**HPARAMS, "layers": [64, 32]}
    assert loaded == expected
    assert isinstance(loaded["lr"], float) and isinstance(loaded["big"], float)


def test_fallback_file_is_valid_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "hparams.yaml"
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "yaml", None)
        save_hparams_to_yaml(path, {**HPARAMS, "nested_inf": [math.inf]})
    loaded = yaml.safe_load(path.read_text())
    assert loaded["lr"] == 1e-05 and loaded["opt"] == {"name": "adam", "betas": [0.9, 0.999]}
    assert loaded["true"] == "yes" and loaded["10"] == "numeric key"
    assert loaded["inf"] == math.inf
    assert loaded["nested_inf"] == ["inf"]  # nested non-finite floats are kept as text


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


def test_foreign_yaml_without_pyyaml_asks_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hparams.yaml"
    path.write_text("opt:\n  name: adam\n")
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ImportError, match="pip install pyyaml"):
        load_hparams_from_yaml(path)
