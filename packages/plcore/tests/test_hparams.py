"""Tests for plcore._hparams: save_hyperparameters forms, AttributeDict and safe-storage rules."""

from __future__ import annotations

import collections
import copy
import dataclasses
import enum
import inspect
import io
import pathlib
import pickle
import warnings
from argparse import Namespace

import pytest
import torch
from torch import nn

from plcore._hparams import (
    IMPORT_PATH_KEY,
    AttributeDict,
    collect_init_args,
    for_checkpoint,
    from_checkpoint,
    get_hparams,
    get_hparams_initial,
    save_hyperparameters,
    to_plain,
)


class _Base(nn.Module):
    """The same thin delegation the lead's LightningModule uses."""

    def save_hyperparameters(self, *args, ignore=None, frame=None, logger=True):
        save_hyperparameters(
            self, *args, ignore=ignore, frame=frame or inspect.currentframe().f_back, logger=logger
        )

    @property
    def hparams(self):
        return get_hparams(self)

    @property
    def hparams_initial(self):
        return get_hparams_initial(self)


class _AllArgs(_Base):
    def __init__(self, hidden: int = 3, lr: float = 0.1, *args, name: str = "net", **kwargs):
        super().__init__()
        self.save_hyperparameters()


def test_all_init_args_are_collected_with_kwargs_expanded():
    model = _AllArgs(5, 0.2, "positional-extra", dropout=0.3)
    assert dict(model.hparams) == {"hidden": 5, "lr": 0.2, "name": "net", "dropout": 0.3}
    assert model._hparams_name == "kwargs"
    assert model._log_hyperparams is True
    assert isinstance(model.hparams, AttributeDict)
    assert model.hparams.hidden == 5


def test_named_args_only():
    class Named(_Base):
        def __init__(self, a: int = 1, b: int = 2, c: int = 3):
            super().__init__()
            self.save_hyperparameters("a", "c", logger=False)

    model = Named(b=20, c=30)
    assert dict(model.hparams) == {"a": 1, "c": 30}
    assert model._hparams_name == "kwargs"
    assert model._log_hyperparams is False


def test_unknown_name_is_a_clear_error():
    class Named(_Base):
        def __init__(self, a: int = 1):
            super().__init__()
            self.save_hyperparameters("b")

    with pytest.raises(ValueError, match=r"\['b'\].*not arguments of `__init__`.*\['a'\]"):
        Named()


@pytest.mark.parametrize("ignore", ["net", ["net"], ("net", "unused")])
def test_ignore_leaves_out_names(ignore):
    class WithNet(_Base):
        def __init__(self, net: nn.Module, lr: float = 0.1):
            super().__init__()
            self.save_hyperparameters(ignore=ignore)
            self.net = net

    model = WithNet(nn.Linear(1, 1))
    assert dict(model.hparams) == {"lr": 0.1}


def test_dict_namespace_and_attribute_dict_config():
    class FromConfig(_Base):
        def __init__(self, config):
            super().__init__()
            self.save_hyperparameters(config)

    for config in (
        {"lr": 0.1, "depth": 2},
        Namespace(lr=0.1, depth=2),
        AttributeDict(lr=0.1, depth=2),
    ):
        model = FromConfig(config)
        assert dict(model.hparams) == {"lr": 0.1, "depth": 2}
        assert model._hparams_name == "config"


def test_dict_not_from_init_has_no_name():
    class Literal(_Base):
        def __init__(self):
            super().__init__()
            self.save_hyperparameters({"lr": 0.5})

    model = Literal()
    assert dict(model.hparams) == {"lr": 0.5}
    assert model._hparams_name is None


def test_empty_container_and_primitives():
    class Empty(_Base):
        def __init__(self, value):
            super().__init__()
            self.save_hyperparameters(value)

    assert dict(Empty({}).hparams) == {}
    with pytest.raises(ValueError, match="Primitives"):
        Empty(3)


def test_subclass_chain_collects_parent_and_child_args():
    class Parent(_Base):
        def __init__(self, width: int = 4, **kwargs):
            super().__init__()
            self.save_hyperparameters()

    class Child(Parent):
        def __init__(self, lr: float = 0.1, width: int = 8, extra: str = "x"):
            super().__init__(width=width, extra=extra)

    model = Child(lr=0.3)
    assert dict(model.hparams) == {"width": 8, "extra": "x", "lr": 0.3}


def test_subclass_without_super_call_syntax_still_collected():
    class Parent(_Base):
        def __init__(self, width: int = 4):
            _Base.__init__(self)
            self.save_hyperparameters()

    class Child(Parent):
        def __init__(self, depth: int = 2):
            Parent.__init__(self, width=depth * 2)

    assert dict(Child(depth=3).hparams) == {"width": 6, "depth": 3}


def test_call_from_helper_method_finds_init():
    class Helper(_Base):
        def __init__(self, lr: float = 0.1):
            super().__init__()
            self._setup()

        def _setup(self):
            save_hyperparameters(self, frame=inspect.currentframe())

    assert dict(Helper(lr=0.2).hparams) == {"lr": 0.2}


def test_repeated_calls_accumulate():
    class Twice(_Base):
        def __init__(self, a: int = 1, b: int = 2):
            super().__init__()
            self.save_hyperparameters("a")
            self.save_hyperparameters({"c": 3})

    assert dict(Twice().hparams) == {"a": 1, "c": 3}


def test_hparams_initial_is_frozen_copy():
    model = _AllArgs(hidden=5, tags=["a"])
    model.hparams.hidden = 99
    model.hparams.tags.append("b")
    assert model.hparams_initial.hidden == 5
    assert model.hparams_initial.tags == ["a"]
    copy_ = model.hparams_initial
    copy_.hidden = 1
    assert model.hparams_initial.hidden == 5


def test_no_save_gives_empty_hparams():
    plain = _Base()
    assert plain.hparams == {}
    assert plain.hparams_initial == {}
    plain.hparams.lr = 1
    assert plain.hparams == {"lr": 1}


class _Color(enum.Enum):
    RED = "red"


def test_values_are_kept_and_stored_in_plain_form():
    class Converted(_Base):
        def __init__(self, path=pathlib.Path("/data"), color=_Color.RED, ns=None, nested=None):
            super().__init__()
            self.save_hyperparameters()

    model = Converted(
        ns=Namespace(a=1, inner=Namespace(b=pathlib.Path("x"))), nested={"k": (1, [_Color.RED])}
    )
    # self.hparams holds the values as given (as in Lightning) ...
    assert model.hparams.path == pathlib.Path("/data")
    assert model.hparams.color is _Color.RED
    # ... and a checkpoint their plain form, which from_checkpoint turns back.
    stored = for_checkpoint(model.hparams)
    assert stored["path"] == "/data"
    assert stored["color"] == {IMPORT_PATH_KEY: f"{__name__}._Color.RED"}
    assert stored["ns"] == {"a": 1, "inner": {"b": "x"}}
    assert stored["nested"] == {"k": (1, [{IMPORT_PATH_KEY: f"{__name__}._Color.RED"}])}
    assert from_checkpoint(stored)["color"] is _Color.RED


@dataclasses.dataclass
class _Optim:
    lr: float = 0.1
    betas: tuple = (0.9, 0.99)


@dataclasses.dataclass
class _Config:
    width: int = 4
    optim: _Optim = dataclasses.field(default_factory=_Optim)
    root: pathlib.Path = pathlib.Path("/data")


def test_dataclass_is_kept_in_hparams_and_stored_as_its_fields():
    # Lightning pickles the instance (its own weights_only loading then fails); plkit stores the
    # fields as plain data, with no warning.
    class WithConfig(_Base):
        def __init__(self, cfg: _Config):
            super().__init__()
            self.save_hyperparameters()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = WithConfig(_Config())
    assert model.hparams.cfg == _Config()  # as given
    stored = for_checkpoint(model.hparams)
    assert stored == {
        "cfg": {"width": 4, "optim": {"lr": 0.1, "betas": (0.9, 0.99)}, "root": "/data"}
    }
    buffer = io.BytesIO()
    torch.save(stored, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True) == stored


def test_classes_and_functions_are_stored_by_import_path_and_resolved_on_load():
    class Encoded(_Base):
        def __init__(self, encoder_class=nn.Linear, activation=torch.relu):
            super().__init__()
            self.save_hyperparameters()

    model = Encoded()
    assert model.hparams.encoder_class is nn.Linear
    stored = for_checkpoint(model.hparams)
    assert stored == {
        "encoder_class": {IMPORT_PATH_KEY: "torch.nn.modules.linear.Linear"},
        "activation": {IMPORT_PATH_KEY: "torch.relu"},
    }
    buffer = io.BytesIO()
    torch.save(stored, buffer)
    buffer.seek(0)
    loaded = from_checkpoint(torch.load(buffer, weights_only=True))
    assert loaded == {"encoder_class": nn.Linear, "activation": torch.relu}
    with pytest.warns(UserWarning, match="not imported"):
        assert from_checkpoint({IMPORT_PATH_KEY: "no_such_pkg.Thing"}) == "no_such_pkg.Thing"


def test_module_argument_warns_and_is_left_out_of_checkpoints():
    class Wrapper(_Base):
        def __init__(self, backbone, lr: float = 0.1):
            super().__init__()
            self.save_hyperparameters()

    with pytest.warns(UserWarning, match=r"ignore=\['backbone'\]"):
        model = Wrapper(nn.Linear(1, 1))
    assert isinstance(model.hparams.backbone, nn.Linear)
    assert for_checkpoint(model.hparams) == {"lr": 0.1}


def test_tensors_and_torch_values_are_allowed_and_load_safely():
    class WithTensor(_Base):
        def __init__(self, weights=None, dtype=torch.float16, device=torch.device("cpu")):
            super().__init__()
            self.save_hyperparameters()

    model = WithTensor(weights=torch.tensor([1.0, 2.0]))
    buffer = io.BytesIO()
    torch.save({"hyper_parameters": model.hparams}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)["hyper_parameters"]
    assert type(loaded) is collections.OrderedDict  # no plcore class needed to load
    assert torch.equal(loaded["weights"], torch.tensor([1.0, 2.0]))
    assert loaded["dtype"] is torch.float16


def test_unstorable_value_warns_names_argument_and_is_left_out_of_checkpoints():
    class Bad(_Base):
        def __init__(self, backbone, lr: float = 0.1):
            super().__init__()
            self.save_hyperparameters()

    with pytest.warns(UserWarning) as record:
        model = Bad(object())
    message = str(record[0].message)
    assert "`backbone`" in message and "builtins.object" in message
    assert 'self.save_hyperparameters(ignore=["backbone"])' in message
    assert for_checkpoint(model.hparams) == {"lr": 0.1}


def test_unpicklable_value_is_kept_silently_until_the_trainer_cleans_it():
    class Lam(_Base):
        def __init__(self, fn=None):
            super().__init__()
            self.save_hyperparameters()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = Lam(lambda x: x)  # as in Lightning: no warning here
    assert for_checkpoint(model.hparams) == {}
    from plcore.utilities.parsing import clean_namespace

    with pytest.warns(UserWarning, match="removed from hparams because it cannot be pickled"):
        clean_namespace(model.hparams)
    assert "fn" not in model.hparams


def test_nested_non_plain_value_names_the_path():
    with pytest.raises(TypeError, match=r"`opts\[1\]\['fn'\]`.*ignore=\[\"opts\"\]"):
        to_plain([1, {"fn": lambda: 0}], "opts")
    with pytest.raises(TypeError, match="key"):
        to_plain({object(): 1}, "mapping")


def test_dataclass_object_uses_fields():
    @dataclasses.dataclass
    class Config:
        lr: float = 0.1
        depth: int = 2

    assert collect_init_args(Config(lr=0.5), None) == {"lr": 0.5, "depth": 2}


def test_ignore_must_be_strings():
    class Wrong(_Base):
        def __init__(self, a: int = 1):
            super().__init__()
            self.save_hyperparameters(ignore=[1])

    with pytest.raises(TypeError, match="ignore"):
        Wrong()


def test_attribute_dict_behaviour():
    hp = AttributeDict(lr=0.1, name="net")
    hp.depth = 3
    assert hp["depth"] == 3
    del hp.name
    assert "name" not in hp
    with pytest.raises(AttributeError):
        _ = hp.missing
    assert repr(hp) == '"depth": 3\n"lr":    0.1'
    assert repr(AttributeDict()) == "AttributeDict()"
    assert type(copy.copy(hp)) is AttributeDict
    assert type(copy.deepcopy(hp)) is AttributeDict
    assert type(pickle.loads(pickle.dumps(hp))) is collections.OrderedDict


def test_pickled_module_keeps_hparams():
    model = _AllArgs(hidden=7)
    restored = pickle.loads(pickle.dumps(model))
    assert isinstance(restored.hparams, AttributeDict)
    assert restored.hparams.hidden == 7
    assert restored.hparams_initial.hidden == 7
