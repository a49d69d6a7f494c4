"""Turn user hyper-parameters and metrics into what a logger backend can store.

Private helpers shared by the loggers: ``Namespace`` → dict, nested dicts flattened with a
separator for backends with flat keys (TensorBoard's HParams), odd values turned into strings,
and a prefix joined onto metric names.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
from argparse import Namespace
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = [
    "add_prefix",
    "convert_params",
    "flatten_dict",
    "flatten_nested",
    "json_safe",
    "name_callables",
    "sanitize_params",
    "to_number",
]

_SCALARS = (bool, int, float, str)


def convert_params(params: Mapping[str, Any] | Namespace | None) -> dict[str, Any]:
    """Return ``params`` as a new dict; a ``Namespace`` gives its attributes, None gives ``{}``.

    Args:
        params: the hyper-parameters as given by the user.

    Raises:
        TypeError: when ``params`` is neither a mapping, a Namespace, a dataclass nor None.
    """
    if params is None:
        return {}
    if isinstance(params, Namespace):
        return dict(vars(params))
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    if isinstance(params, Mapping):
        return dict(params)
    raise TypeError(
        f"`params` must be a dict or an argparse.Namespace, got {type(params).__name__}; "
        "pass e.g. `dict(lr=1e-3)` or `vars(args)`."
    )


def flatten_dict(
    params: Mapping[str, Any], delimiter: str = "/", parent: str = ""
) -> dict[str, Any]:
    """Flatten nested mappings / Namespaces: ``{"a": {"b": 1}}`` → ``{"a/b": 1}``.

    Args:
        params: the (possibly nested) mapping.
        delimiter: joins the keys of each level.
        parent: the key prefix of this level (used by the recursion).
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{parent}{delimiter}{key}" if parent else str(key)
        if isinstance(value, Namespace):
            value = vars(value)
        if isinstance(value, Mapping) and value:
            flat.update(flatten_dict(value, delimiter, name))
        else:
            flat[name] = value
    return flat


def flatten_nested(
    params: Mapping[str, Any], delimiter: str = "/", parent: str = ""
) -> dict[str, Any]:
    """Flatten as Lightning's MLflow logger does: mappings, Namespaces and dataclasses nest,
    and so does a list whose items are all mappings (item ``i`` under ``key/i``).

    An empty mapping or an empty list contributes no key at all (Lightning's rule).

    Args:
        params: the (possibly nested) mapping.
        delimiter: joins the keys of each level.
        parent: the key prefix of this level (used by the recursion).
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{parent}{delimiter}{key}" if parent else str(key)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        elif isinstance(value, Namespace):
            value = vars(value)
        if isinstance(value, MutableMapping):
            flat.update(flatten_nested(value, delimiter, name))
        elif isinstance(value, list) and all(isinstance(v, MutableMapping) for v in value):
            for i, item in enumerate(value):
                flat.update(flatten_nested(item, delimiter, f"{name}{delimiter}{i}"))
        else:
            flat[name] = value
    return flat


def name_callables(params: Mapping[str, Any]) -> dict[str, Any]:
    """Lightning's rule for callables in W&B configs: a class gives its name; another callable is
    called with no arguments and gives its result, or its name when the result is callable or
    the call fails.

    Args:
        params: a flat mapping.
    """

    def one(value: Any) -> Any:
        if inspect.isclass(value):
            return value.__name__
        if not callable(value):
            return value
        try:
            result = value()
        except Exception:  # any failure means "not a factory": the name stands in
            return getattr(value, "__name__", None)
        return value.__name__ if callable(result) else result

    return {key: one(value) for key, value in params.items()}


def json_safe(params: Mapping[str, Any]) -> dict[str, Any]:
    """Values ``json.dumps`` cannot encode become their ``str()``.

    Args:
        params: a flat mapping.
    """

    def encodable(value: Any) -> bool:
        if value is None or isinstance(value, (bool, int, float, str, list, dict)):
            return True
        try:
            json.dumps(value)
        except (TypeError, OverflowError):
            return False
        return True

    return {key: value if encodable(value) else str(value) for key, value in params.items()}


def _sanitize_value(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if hasattr(value, "ndim") and hasattr(value, "item") and value.ndim == 0:
        return value.item()  # zero-dimensional tensors and numpy scalars become numbers
    if callable(value) and hasattr(value, "__qualname__"):
        return value.__qualname__  # functions and classes are named, never called
    return str(value)


def sanitize_params(params: Mapping[str, Any]) -> dict[str, bool | int | float | str]:
    """Keep bools, ints, floats and strings; name enums, functions and classes; ``str()`` the rest.

    Args:
        params: a flat mapping (see :func:`flatten_dict`).
    """
    return {key: _sanitize_value(value) for key, value in params.items()}


def add_prefix(metrics: Mapping[str, Any], prefix: str, separator: str) -> dict[str, Any]:
    """Return ``metrics`` with ``f"{prefix}{separator}"`` in front of each key (no-op without prefix).

    Args:
        metrics: metric name → value.
        prefix: the logger's prefix, e.g. ``"train"``.
        separator: joins prefix and name, ``"-"`` for the built-in loggers.
    """
    if not prefix:
        return dict(metrics)
    return {f"{prefix}{separator}{key}": value for key, value in metrics.items()}


def to_number(value: Any) -> Any:
    """A one-element tensor / numpy value becomes a Python number; anything else is returned as is.

    Args:
        value: the metric value.
    """
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, _SCALARS):
        return item()
    return value
