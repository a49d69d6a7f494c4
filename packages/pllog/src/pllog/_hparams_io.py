"""Write and read ``hparams.yaml``, the hyper-parameter file every built-in logger keeps in its log_dir.

The file is written with PyYAML as Lightning writes it: keys sorted, block style. Values are
first turned into plain YAML types (dicts, lists, strings, numbers, booleans, None), so the file
always loads back with ``yaml.safe_load``: tensors and numpy arrays become (nested) lists,
tuples and sets lists, enums their name, paths strings, classes and functions their import path
(``torch.nn.modules.linear.Linear``), other objects ``str(value)``. Lightning instead writes
Python-specific tags (``!!python/tuple``, ``!!python/name:...``) that a safe loader refuses.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import sys
from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from plcore.utilities import cloud_io
from plcore.utilities.rank_zero import rank_zero_warn

__all__ = ["import_path", "load_hparams_from_yaml", "save_hparams_to_yaml", "to_plain"]


def _plain_mapping(value: Mapping[Any, Any]) -> dict[Any, Any]:
    plain_key = (str, int, float, bool)
    return {(k if isinstance(k, plain_key) else str(k)): to_plain(v) for k, v in value.items()}


def import_path(value: Any) -> str | None:
    """``module.qualname`` of a class or function that can be imported by that name, else None.

    Args:
        value: any object.
    """
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not (isinstance(value, type) or callable(value)) or not module or not qualname:
        return None
    if "<" in qualname:  # a lambda or a class defined inside a function: not importable
        return None
    name = getattr(value, "__name__", None)
    if isinstance(name, str) and getattr(sys.modules.get(module), name, None) is value:
        return f"{module}.{name}"  # torch.relu, as YAML's python/name tag spells it
    return f"{module}.{qualname}"


def to_plain(value: Any) -> Any:
    """Convert ``value`` recursively into types a safe YAML dumper accepts.

    Args:
        value: a hyper-parameter value of any type.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Namespace):
        return _plain_mapping(vars(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain_mapping({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        return _plain_mapping(value)
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_plain(v) for v in value), key=repr)
    if hasattr(value, "tolist"):
        return to_plain(value.tolist())  # tensors, numpy arrays and numpy scalars
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    path = import_path(value)
    return path if path is not None else str(value)


def save_hparams_to_yaml(
    config_yaml: str | os.PathLike[str], hparams: Mapping[str, Any] | Namespace
) -> None:
    """Write ``hparams`` to ``config_yaml`` (the folder must exist), replacing the file atomically.

    Args:
        config_yaml: the file to write, usually ``<log_dir>/hparams.yaml``.
        hparams: the hyper-parameters; a Namespace is read through ``vars``.
    """
    folder = os.path.dirname(os.fspath(config_yaml)) or "."
    if not cloud_io.isdir(folder, strict=False):
        raise ValueError(
            f"`config_yaml` folder {folder!r} does not exist; create it before saving."
        )
    if isinstance(hparams, Namespace):
        hparams = vars(hparams)
    import yaml  # imported when a file is written: `import pllog` stays cheap

    text = yaml.safe_dump(_plain_mapping(hparams), sort_keys=True, default_flow_style=False)
    # Replaced atomically: a crash mid-write never leaves a truncated file behind.
    cloud_io.write_text(os.fspath(config_yaml), text)


def load_hparams_from_yaml(config_yaml: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a hyper-parameter file with ``yaml.safe_load``; a missing file warns and gives ``{}``.

    Args:
        config_yaml: the ``hparams.yaml`` to read.
    """
    path = os.fspath(config_yaml)
    if not cloud_io.isfile(path):
        rank_zero_warn(f"Missing hyper-parameter file: {path}.")
        return {}
    import yaml

    loaded = yaml.safe_load(cloud_io.read_text(path))
    return dict(loaded) if loaded else {}
