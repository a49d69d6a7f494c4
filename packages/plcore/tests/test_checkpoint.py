"""Tests for plcore.checkpoint: atomic writes, safe loads, check_plain and load_from_checkpoint."""

from __future__ import annotations

import collections
import dataclasses
import errno
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import plcore
from plcore import checkpoint as ckpt_module
from plcore._hparams import AttributeDict, for_checkpoint, save_hyperparameters
from plcore.checkpoint import (
    CHECKPOINT_KEYS,
    CheckpointError,
    TorchCheckpointIO,
    UnsafeCheckpointError,
    atomic_save,
    check_plain,
    load_from_checkpoint,
    load_hparams_file,
    safe_load,
)


def _temp_files(folder) -> list[str]:
    return [name for name in os.listdir(folder) if ".tmp-" in name]


# --------------------------------------------------------------------------- atomic_save


def test_atomic_save_round_trip_creates_parent_folders(tmp_path):
    path = tmp_path / "a" / "b" / "last.ckpt"
    atomic_save({"epoch": 3, "w": torch.arange(5.0)}, path)
    loaded = safe_load(path)
    assert loaded["epoch"] == 3
    assert torch.equal(loaded["w"], torch.arange(5.0))
    assert _temp_files(path.parent) == []


def test_atomic_save_replaces_existing_file(tmp_path):
    path = tmp_path / "last.ckpt"
    atomic_save({"step": 1}, path)
    atomic_save({"step": 2}, path)
    assert safe_load(path)["step"] == 2
    assert os.listdir(tmp_path) == ["last.ckpt"]


def test_enospc_on_replace_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    atomic_save({"step": 1}, path)

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt_module.os, "replace", no_space)
    with pytest.raises(OSError) as info:
        atomic_save({"step": 2}, path)
    assert info.value.errno == errno.ENOSPC
    assert str(path) in str(info.value)
    monkeypatch.undo()
    assert safe_load(path)["step"] == 1
    assert _temp_files(tmp_path) == []


class _FullDiskFile(io.FileIO):
    """A real file whose writes fail with ENOSPC after ``limit`` bytes."""

    limit = 1000

    def write(self, data):
        if self.tell() + len(data) > self.limit:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_enospc_during_torch_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    atomic_save({"step": 1}, path)

    def fake_open(file, mode="r", *args, **kwargs):
        assert mode == "xb"
        return _FullDiskFile(file, "xb")

    monkeypatch.setattr(ckpt_module, "open", fake_open, raising=False)
    with pytest.raises(OSError) as info:
        atomic_save({"step": 2, "w": torch.zeros(10_000)}, path)
    # torch.save wraps the failed write in a RuntimeError; the errno must survive that.
    assert info.value.errno == errno.ENOSPC
    assert str(path) in str(info.value)
    monkeypatch.undo()
    assert safe_load(path)["step"] == 1
    assert _temp_files(tmp_path) == []


def test_unpicklable_object_reraises_original_error_and_cleans_up(tmp_path):
    path = tmp_path / "last.ckpt"
    atomic_save({"step": 1}, path)
    with pytest.raises((AttributeError, TypeError, Exception)) as info:
        atomic_save({"fn": lambda x: x}, path)
    assert not isinstance(info.value, OSError)
    assert safe_load(path)["step"] == 1
    assert _temp_files(tmp_path) == []


_WRITER = textwrap.dedent(
    """
    import sys, torch
    from plcore.checkpoint import atomic_save
    path = sys.argv[1]
    atomic_save({"step": 0, "w": torch.ones(4)}, path)
    print("ready", flush=True)
    big = torch.ones(6_000_000)
    step = 1
    while True:
        atomic_save({"step": step, "w": big}, path)
        step += 1
    """
)


def _partly_written(folder) -> bool:
    """True once a temporary file holds some, but not all, of a 24 MB checkpoint."""
    for name in _temp_files(folder):
        try:
            size = os.path.getsize(os.path.join(folder, name))
        except FileNotFoundError:  # renamed between listdir and stat
            continue
        if 1_000_000 < size < 20_000_000:
            return True
    return False


def test_sigkill_mid_write_leaves_previous_complete_file(tmp_path):
    path = tmp_path / "last.ckpt"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while not _partly_written(tmp_path):
            assert time.monotonic() < deadline, "never saw a partly written temporary file"
            time.sleep(0.0005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert _temp_files(tmp_path), "the kill should have interrupted a write"
    loaded = safe_load(path)  # the last complete checkpoint, never a partial one
    assert loaded["step"] >= 0
    assert loaded["w"].numel() == (4 if loaded["step"] == 0 else 6_000_000)
    assert torch.all(loaded["w"] == 1)


# --------------------------------------------------------------------------- safe_load


def _make_marker(path: str) -> str:
    with open(path, "w") as file:
        file.write("code ran")
    return "pwned"


class _Malicious:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (_make_marker, (self.marker,))


def test_malicious_pickle_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "marker.txt"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Malicious(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load(path)
    message = str(info.value)
    assert str(path) in message
    assert "_make_marker" in message
    assert "weights_only=False" in message
    assert "arbitrary code" in message
    assert not marker.exists()
    # The opt-in really unpickles: proves the file above was dangerous.
    assert safe_load(path, weights_only=False)["payload"] == "pwned"
    assert marker.exists()


def test_unsafe_error_is_a_checkpoint_error_and_value_error():
    assert issubclass(UnsafeCheckpointError, CheckpointError)
    assert issubclass(CheckpointError, ValueError)


@pytest.mark.parametrize("keep", [0, 10, 0.5, -10])
def test_truncated_file_raises_checkpoint_error(tmp_path, keep):
    path = tmp_path / "last.ckpt"
    atomic_save({"w": torch.randn(2000)}, path)
    data = path.read_bytes()
    size = int(len(data) * keep) if isinstance(keep, float) else keep % len(data) if keep else 0
    path.write_bytes(data[:size])
    with pytest.raises(CheckpointError) as info:
        safe_load(path)
    assert not isinstance(info.value, UnsafeCheckpointError)
    assert str(path) in str(info.value)
    assert "truncated or corrupt" in str(info.value)


@pytest.mark.parametrize("keep", [10, 0.5, -10])
def test_truncated_legacy_format_raises_checkpoint_error(tmp_path, keep):
    path = tmp_path / "legacy.ckpt"
    torch.save({"w": torch.randn(2000)}, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    size = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path.write_bytes(data[:size])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        safe_load(path)


def test_garbage_and_empty_files_raise_checkpoint_error(tmp_path):
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"hello world, not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        safe_load(garbage)
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        safe_load(empty)


def test_missing_file_raises_file_not_found_naming_path(tmp_path):
    path = tmp_path / "nope.ckpt"
    with pytest.raises(FileNotFoundError) as info:
        safe_load(path)
    assert str(path) in str(info.value)


def test_non_dict_file_raises_checkpoint_error(tmp_path):
    path = tmp_path / "tensor.pt"
    torch.save(torch.ones(3), path)
    with pytest.raises(CheckpointError, match="not a checkpoint dict"):
        safe_load(path)


def test_missing_class_under_full_unpickling_is_not_called_corrupt(tmp_path):
    module = types.ModuleType("plcore_vanishing_module")
    exec("class Thing:\n    pass\n", module.__dict__)
    module.Thing.__module__ = module.__name__
    sys.modules[module.__name__] = module
    path = tmp_path / "thing.ckpt"
    try:
        torch.save({"thing": module.Thing()}, path)
    finally:
        del sys.modules[module.__name__]
    with pytest.raises(UnsafeCheckpointError, match="plcore_vanishing_module.Thing"):
        safe_load(path)
    with pytest.raises(ModuleNotFoundError):  # the bytes are intact: the real error surfaces
        safe_load(path, weights_only=False)


# --------------------------------------------------------------------------- TorchCheckpointIO


def test_torch_checkpoint_io_save_load_remove(tmp_path):
    io_ = TorchCheckpointIO()
    path = tmp_path / "sub" / "x.ckpt"
    io_.save_checkpoint({"a": torch.ones(2)}, path)
    assert torch.equal(io_.load_checkpoint(path)["a"], torch.ones(2))
    assert io_.load_checkpoint(path, map_location="cpu")["a"].device.type == "cpu"
    io_.remove_checkpoint(path)
    assert not path.exists()
    io_.remove_checkpoint(path)  # already gone: fine
    with pytest.raises(TypeError, match="storage_options"):
        io_.save_checkpoint({}, path, storage_options={"x": 1})


def test_torch_checkpoint_io_satisfies_protocol():
    from plcore.interfaces import CheckpointIOProtocol

    assert isinstance(TorchCheckpointIO(), CheckpointIOProtocol)


def test_constants():
    assert CHECKPOINT_KEYS[:4] == [
        "epoch",
        "global_step",
        "pytorch-lightning_version",
        "state_dict",
    ]
    assert {"hyper_parameters", "datamodule_hyper_parameters", "lr_schedulers"} <= set(
        CHECKPOINT_KEYS
    )


# --------------------------------------------------------------------------- check_plain

_NT = collections.namedtuple("_NT", "a b")

_SAFE_VALUES = {
    "scalars": [None, True, 3, 2.5, 1 + 2j, "s", b"b", 2**80, float("inf")],
    "tensors": {
        "t": torch.ones(2),
        "p": nn.Parameter(torch.ones(1)),
        "bf": torch.ones(1, dtype=torch.bfloat16),
    },
    "torch": [torch.float16, torch.device("cpu"), torch.Size([2, 3]), torch.strided],
    "containers": collections.OrderedDict(a={1, 2}, b=(1, [2, {"c": None}])),
    "keys": {1: "int", None: "none", 1.5: "float", (1, 2): "tuple"},
    "hparams": AttributeDict(lr=0.1),
}


def test_check_plain_accepts_what_weights_only_loads(tmp_path):
    check_plain(_SAFE_VALUES)
    path = tmp_path / "safe.ckpt"
    atomic_save(_SAFE_VALUES, path)
    loaded = safe_load(path)
    assert loaded["containers"]["b"][1][1] == {"c": None}
    assert loaded["torch"][0] is torch.float16
    assert loaded["hparams"] == {"lr": 0.1}


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(2),
        np.int64(1),
        _NT(1, 2),
        collections.defaultdict(list),
        frozenset({1}),
        range(3),
        _Malicious("x"),
    ],
    ids=["ndarray", "npint", "namedtuple", "defaultdict", "frozenset", "range", "object"],
)
def test_check_plain_rejects_what_weights_only_refuses(bad, tmp_path):
    checkpoint = {"callbacks": {"X": {"fn": bad}}}
    with pytest.raises(TypeError) as info:
        check_plain(checkpoint)
    assert "checkpoint['callbacks']['X']['fn']" in str(info.value)
    assert "weights_only=True" in str(info.value)
    # check_plain must agree with torch: the same value really fails to load safely.
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    with pytest.raises(Exception):
        torch.load(buffer, weights_only=True)


def test_check_plain_names_list_index_key_and_custom_where():
    with pytest.raises(TypeError, match=r"state\['loops'\]\[2\]"):
        check_plain({"loops": [1, 2, print]}, where="state")
    with pytest.raises(TypeError, match="key"):
        check_plain({_NT(1, 2): 1})


def test_check_plain_accepts_registered_safe_globals():
    class Allowed:
        pass

    with pytest.raises(TypeError):
        check_plain({"x": Allowed()})
    with torch.serialization.safe_globals([Allowed]):
        check_plain({"x": Allowed()})


# --------------------------------------------------------------------------- load_from_checkpoint


class _TinyBase(nn.Module):
    """Stands in for LightningModule: the same classmethod and hparams pattern."""

    def save_hyperparameters(self, *args, ignore=None, frame=None, logger=True):
        import inspect

        save_hyperparameters(
            self, *args, ignore=ignore, frame=frame or inspect.currentframe().f_back, logger=logger
        )

    @classmethod
    def load_from_checkpoint(
        cls, checkpoint_path, map_location=None, hparams_file=None, strict=None, **kwargs
    ):
        return load_from_checkpoint(
            cls,
            checkpoint_path,
            map_location=map_location,
            hparams_file=hparams_file,
            strict=strict,
            **kwargs,
        )


_BASES = [_TinyBase]
if hasattr(plcore, "LightningModule"):
    _BASES.append(plcore.LightningModule)


@pytest.fixture(params=_BASES, ids=lambda base: base.__name__)
def model_cls(request):
    class Net(request.param):
        def __init__(self, hidden: int = 3, lr: float = 0.1, act: str = "relu"):
            super().__init__()
            self.save_hyperparameters()
            self.layer = nn.Linear(2, hidden)
            self.loaded_hook_saw = None

        def on_load_checkpoint(self, checkpoint):
            self.loaded_hook_saw = dict(checkpoint["hyper_parameters"])

    return Net


def _save_model(model, path, **extra):
    checkpoint = {
        "epoch": 1,
        "global_step": 10,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": model.state_dict(),
        "hparams_name": model._hparams_name,
        "hyper_parameters": dict(model._hparams),
        **extra,
    }
    check_plain(checkpoint)
    atomic_save(checkpoint, path)


def test_load_from_checkpoint_restores_hparams_and_weights(model_cls, tmp_path):
    model = model_cls(hidden=5, lr=0.5)
    path = tmp_path / "m.ckpt"
    _save_model(model, path)
    loaded = model_cls.load_from_checkpoint(path)
    assert dict(loaded._hparams) == {"hidden": 5, "lr": 0.5, "act": "relu"}
    assert loaded.layer.out_features == 5
    assert torch.equal(loaded.layer.weight, model.layer.weight)
    assert loaded.loaded_hook_saw == {"hidden": 5, "lr": 0.5, "act": "relu"}
    assert loaded.training  # like Lightning: not switched to eval mode


def test_load_from_checkpoint_kwargs_override_saved_hparams(model_cls, tmp_path):
    path = tmp_path / "m.ckpt"
    _save_model(model_cls(hidden=5, lr=0.5), path)
    loaded = model_cls.load_from_checkpoint(path, lr=0.01)
    assert loaded._hparams.lr == 0.01
    assert loaded._hparams.hidden == 5
    assert loaded.loaded_hook_saw["lr"] == 0.01


def test_load_from_checkpoint_warns_on_unknown_override(model_cls, tmp_path):
    path = tmp_path / "m.ckpt"
    _save_model(model_cls(), path)
    with pytest.warns(UserWarning, match=r"takes no argument\(s\) \['typo_lr'\]"):
        model_cls.load_from_checkpoint(path, typo_lr=1.0)


def test_load_from_checkpoint_warns_on_saved_hparams_init_no_longer_takes(model_cls, tmp_path):
    # Lightning passes only what __init__ takes and drops the rest silently; plkit names them.
    path = tmp_path / "m.ckpt"
    _save_model(model_cls(hidden=5), path)

    class Renamed(model_cls.__base__):  # the class as edited since the checkpoint was saved
        def __init__(self, hidden: int = 3, learning_rate: float = 0.1):
            super().__init__()
            self.save_hyperparameters()
            self.layer = nn.Linear(2, hidden)

    with pytest.warns(UserWarning, match=r"hyper-parameter\(s\) \['act', 'lr'\] are not arguments"):
        loaded = Renamed.load_from_checkpoint(path)
    assert loaded.layer.out_features == 5


def test_load_from_checkpoint_passes_saved_hparams_to_var_kwargs_silently(model_cls, tmp_path):
    path = tmp_path / "m.ckpt"
    _save_model(model_cls(hidden=5), path)

    class Open(model_cls):
        def __init__(self, hidden: int = 3, **kwargs):
            super().__init__(hidden=hidden, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = Open.load_from_checkpoint(path)
    assert loaded._hparams.act == "relu"


@dataclasses.dataclass
class _Cfg:
    hidden: int = 3
    act: str = "relu"


def test_dataclass_hparam_is_stored_plainly_and_rebuilt_from_the_annotation(model_cls, tmp_path):
    class WithCfg(model_cls):
        def __init__(self, cfg: _Cfg, lr: float = 0.1):
            super().__init__(hidden=cfg.hidden, lr=lr)
            self.save_hyperparameters()

    model = WithCfg(_Cfg(hidden=5))
    path = tmp_path / "m.ckpt"
    checkpoint = {
        "state_dict": model.state_dict(),
        "hparams_name": model._hparams_name,
        "hyper_parameters": for_checkpoint(model._hparams),
    }
    atomic_save(checkpoint, path)
    assert torch.load(path, weights_only=True)["hyper_parameters"]["cfg"] == {
        "hidden": 5,
        "act": "relu",
    }
    loaded = WithCfg.load_from_checkpoint(path)
    assert loaded._hparams.cfg == _Cfg(hidden=5)
    assert loaded.layer.out_features == 5


def test_strict_mismatch_lists_missing_and_unexpected_keys(model_cls, tmp_path):
    model = model_cls()
    state = model.state_dict()
    state["extra.weight"] = torch.ones(1)
    del state["layer.bias"]
    path = tmp_path / "m.ckpt"
    _save_model(model, path, state_dict=state)
    with pytest.raises(RuntimeError) as info:
        model_cls.load_from_checkpoint(path)
    message = str(info.value)
    assert "Missing from the checkpoint (1): ['layer.bias']" in message
    assert "Unexpected in the checkpoint (1): ['extra.weight']" in message
    assert str(path) in message and "strict=False" in message
    with pytest.warns(UserWarning) as record:
        loaded = model_cls.load_from_checkpoint(path, strict=False)
    text = " ".join(str(w.message) for w in record)
    assert "layer.bias" in text and "extra.weight" in text
    assert torch.equal(loaded.layer.weight, model.layer.weight)


def test_shape_mismatch_names_path(model_cls, tmp_path):
    path = tmp_path / "m.ckpt"
    _save_model(model_cls(hidden=4), path)
    with pytest.raises(RuntimeError, match="size mismatch") as info:
        model_cls.load_from_checkpoint(path, hidden=6)
    assert str(path) in str(info.value)


def test_lightning_checkpoint_without_hparams_loads(model_cls, tmp_path):
    model = model_cls()
    path = tmp_path / "pl.ckpt"
    atomic_save(
        {"pytorch-lightning_version": "2.2.0", "state_dict": model.state_dict(), "epoch": 0}, path
    )
    loaded = model_cls.load_from_checkpoint(path, map_location="cpu")
    assert torch.equal(loaded.layer.weight, model.layer.weight)
    assert loaded.layer.weight.device.type == "cpu"


def test_map_location_callable_is_passed_to_torch_load(model_cls, tmp_path):
    path = tmp_path / "m.ckpt"
    model = model_cls()
    _save_model(model, path)
    seen = []

    def mapper(storage, location):
        seen.append(location)
        return storage

    loaded = model_cls.load_from_checkpoint(path, map_location=mapper)
    assert seen and set(seen) == {"cpu"}
    assert torch.equal(loaded.layer.bias, model.layer.bias)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a CPU-only machine")
def test_default_map_location_falls_back_to_cpu_for_missing_cuda():
    storage = torch.ones(2).untyped_storage()
    assert ckpt_module._default_map_location(storage, "cuda:0") is storage
    assert ckpt_module._default_map_location(storage, "cpu") is None


def test_hparams_file_yaml_and_csv_replace_saved(model_cls, tmp_path):
    path = tmp_path / "m.ckpt"
    _save_model(model_cls(hidden=4, lr=0.5), path)
    yaml_file = tmp_path / "hparams.yaml"
    yaml_file.write_text("hidden: 4\nlr: 0.25\nact: tanh\n")
    assert model_cls.load_from_checkpoint(path, hparams_file=yaml_file)._hparams.lr == 0.25
    csv_file = tmp_path / "tags.csv"
    csv_file.write_text("key,value\nhidden,4\nlr,0.125\nact,gelu\n")
    loaded = model_cls.load_from_checkpoint(path, hparams_file=csv_file)
    assert (loaded._hparams.lr, loaded._hparams.act) == (0.125, "gelu")
    with pytest.raises(ValueError, match=r"\.csv, \.yml or \.yaml"):
        model_cls.load_from_checkpoint(path, hparams_file=tmp_path / "h.json")


def test_hparams_file_refuses_python_tags(tmp_path):
    bad = tmp_path / "hparams.yaml"
    bad.write_text("x: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ValueError, match="not plain YAML"):
        load_hparams_file(bad)
    with pytest.raises(FileNotFoundError):
        load_hparams_file(tmp_path / "missing.yaml")


def test_config_dict_argument_is_passed_back_whole(tmp_path):
    class ConfigNet(_TinyBase):
        def __init__(self, config: dict):
            super().__init__()
            self.save_hyperparameters(config)
            self.config = config
            self.layer = nn.Linear(2, config["hidden"])

    model = ConfigNet({"hidden": 3, "lr": 0.1})
    assert model._hparams_name == "config"
    path = tmp_path / "m.ckpt"
    _save_model(model, path)
    loaded = ConfigNet.load_from_checkpoint(path, lr=0.2)
    assert dict(loaded._hparams) == {"hidden": 3, "lr": 0.2}
    assert loaded.config.lr == 0.2  # passed back as an AttributeDict: Namespace-style access works


def test_var_kwargs_init_receives_all_hparams(tmp_path):
    class KwNet(_TinyBase):
        def __init__(self, hidden: int = 2, **kwargs):
            super().__init__()
            self.save_hyperparameters()
            self.kwargs = kwargs
            self.layer = nn.Linear(1, hidden)

    path = tmp_path / "m.ckpt"
    _save_model(KwNet(hidden=3, dropout=0.5), path)
    loaded = KwNet.load_from_checkpoint(path, extra="x")
    assert loaded.kwargs == {"dropout": 0.5, "extra": "x"}


class _DataModule:
    """Stands in for LightningDataModule (has train_dataloader, is not an nn.Module)."""

    def __init__(self, batch_size: int = 2):
        save_hyperparameters(self)
        self.state = None

    def train_dataloader(self):
        return []

    def load_state_dict(self, state):
        self.state = state


_DM_BASES = [_DataModule]
if hasattr(plcore, "LightningDataModule"):

    class _PlcoreDataModule(plcore.LightningDataModule):
        def __init__(self, batch_size: int = 2):
            super().__init__()
            self.save_hyperparameters()
            self.state = None

        def load_state_dict(self, state):
            self.state = state

    _DM_BASES.append(_PlcoreDataModule)


@pytest.mark.parametrize("dm_cls", _DM_BASES, ids=lambda c: c.__name__)
def test_datamodule_load_from_checkpoint(dm_cls, tmp_path):
    path = tmp_path / "m.ckpt"
    dm_state = {"seen": 7}
    atomic_save(
        {
            "state_dict": {},
            "datamodule_hparams_name": "kwargs",
            "datamodule_hyper_parameters": {"batch_size": 16},
            dm_cls.__qualname__: dm_state,
        },
        path,
    )
    assert load_from_checkpoint(dm_cls, path)._hparams.batch_size == 16
    dm = load_from_checkpoint(dm_cls, path, batch_size=32)
    assert dm._hparams.batch_size == 32
    assert dm.state == dm_state


def test_load_from_checkpoint_rejects_other_classes(tmp_path):
    with pytest.raises(TypeError, match="LightningModule and LightningDataModule"):
        load_from_checkpoint(dict, tmp_path / "x.ckpt")


def test_load_refuses_unsafe_checkpoint(model_cls, tmp_path):
    marker = tmp_path / "marker.txt"
    model = model_cls()
    path = tmp_path / "evil.ckpt"
    torch.save(
        {"state_dict": model.state_dict(), "hyper_parameters": {"act": _Malicious(str(marker))}},
        path,
    )
    with pytest.raises(UnsafeCheckpointError):
        model_cls.load_from_checkpoint(path)
    assert not marker.exists()


def test_no_warnings_on_clean_load(model_cls, tmp_path):
    path = tmp_path / "m.ckpt"
    _save_model(model_cls(), path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model_cls.load_from_checkpoint(path)


def test_build_checkpoint_takes_the_datamodule_state_from_the_given_call() -> None:
    """``datamodule_state`` replaces the call of ``state_dict`` (a trainer passes a timed one)."""

    class Data(plcore.LightningDataModule):
        def state_dict(self) -> dict:
            raise AssertionError("called directly")

    calls = []

    def timed() -> dict:
        calls.append("state_dict")
        return {"seen": 3}

    data = Data()
    checkpoint = ckpt_module.build_checkpoint(
        epoch=0,
        global_step=0,
        state_dict={},
        loops={},
        module=plcore.LightningModule(),
        datamodule=data,
        datamodule_state=timed,
    )
    assert checkpoint[type(data).__qualname__] == {"seen": 3}
    assert calls == ["state_dict"]
