"""Write and read ``hparams.yaml``, the hyper-parameter file every built-in logger keeps in its log_dir.

Values are first turned into plain YAML types (dicts, lists, strings, numbers, booleans, None):
tensors and numpy arrays become (nested) lists, paths and other objects become ``str(value)``,
enums their name, so the file always loads back with a *safe* loader. PyYAML is used when it is
installed; without it a small emitter writes one ``key: <flow value>`` line per entry (valid YAML,
and readable back by :func:`load_hparams_from_yaml` without PyYAML).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import re
from argparse import Namespace
from collections.abc import Mapping
from typing import Any

from plcore.utilities.rank_zero import rank_zero_warn

__all__ = ["load_hparams_from_yaml", "save_hparams_to_yaml", "to_plain"]

_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "~"}
_SPECIAL_FLOATS = {".inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}


def _plain_mapping(value: Mapping[Any, Any]) -> dict[Any, Any]:
    plain_key = (str, int, float, bool)
    return {(k if isinstance(k, plain_key) else str(k)): to_plain(v) for k, v in value.items()}


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
    return str(value)


def save_hparams_to_yaml(
    config_yaml: str | os.PathLike[str], hparams: Mapping[str, Any] | Namespace
) -> None:
    """Write ``hparams`` to ``config_yaml`` (the folder must exist), replacing the file atomically.

    Args:
        config_yaml: the file to write, usually ``<log_dir>/hparams.yaml``.
        hparams: the hyper-parameters; a Namespace is read through ``vars``.
    """
    folder = os.path.dirname(os.fspath(config_yaml)) or "."
    if not os.path.isdir(folder):
        raise ValueError(
            f"`config_yaml` folder {folder!r} does not exist; create it before saving."
        )
    if isinstance(hparams, Namespace):
        hparams = vars(hparams)
    text = _dump(_plain_mapping(hparams))
    tmp = f"{os.fspath(config_yaml)}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, config_yaml)  # a crash mid-write never leaves a truncated file behind


def load_hparams_from_yaml(config_yaml: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a hyper-parameter file; a missing file warns and gives ``{}``.

    Args:
        config_yaml: the ``hparams.yaml`` to read.
    """
    if not os.path.isfile(config_yaml):
        rank_zero_warn(f"Missing hyper-parameter file: {os.fspath(config_yaml)}.")
        return {}
    with open(config_yaml, encoding="utf-8") as handle:
        text = handle.read()
    try:
        import yaml
    except ImportError:
        return _fallback_load(text, os.fspath(config_yaml))
    loaded = yaml.safe_load(text)
    return dict(loaded) if loaded else {}


def _dump(plain: dict[Any, Any]) -> str:
    if not plain:
        return "{}\n"
    try:
        import yaml
    except ImportError:
        return "".join(f"{_fallback_key(str(k))}: {_flow(v, top=True)}\n" for k, v in plain.items())
    return yaml.safe_dump(plain, sort_keys=False, default_flow_style=False)


def _fallback_key(key: str) -> str:
    if _BARE_KEY.match(key) and key.lower() not in _YAML_WORDS:
        return key
    return json.dumps(key)


def _flow(value: Any, top: bool = False) -> str:
    """One value in YAML flow style; also valid JSON except for non-finite floats at top level."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _flow_float(value, top)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"


def _flow_float(value: float, top: bool) -> str:
    if not math.isfinite(value):
        # YAML spells these .inf/.nan, JSON cannot; nested ones are kept as strings so the
        # PyYAML-free reader can hand nested values to json.loads.
        text = ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
        return text if top else json.dumps(str(value))
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if exponent and "." not in mantissa:
        # YAML 1.1 readers (PyYAML) only see a float in "1.0e-05", not in "1e-05".
        text = f"{mantissa}.0e{exponent}"
    return text


def _fallback_load(text: str, path: str) -> dict[str, Any]:
    """Read the ``key: <flow value>`` lines that the PyYAML-free writer produces."""
    result: dict[str, Any] = {}
    if text.strip() == "{}":
        return result
    decoder = json.JSONDecoder()
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            if line.startswith('"'):
                key, end = decoder.raw_decode(line)
                rest = line[end:]
            else:
                key, sep, rest = line.partition(":")
                rest = sep + rest
            raw = rest.removeprefix(":").strip()
            result[key] = _SPECIAL_FLOATS[raw] if raw in _SPECIAL_FLOATS else json.loads(raw)
        except (ValueError, KeyError) as err:
            raise ImportError(
                f"Reading {path} needs PyYAML (the file is not in pllog's plain format): "
                "run `pip install pyyaml`."
            ) from err
    return result
