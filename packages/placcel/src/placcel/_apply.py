"""Walk nested batches: tensors inside tuples, lists, dicts, namedtuples and dataclasses."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import torch

__all__ = ["apply_to_tensors", "move_data_to_device"]


def apply_to_tensors(
    data: Any,
    fn: Callable[[torch.Tensor], Any],
    other: Callable[[Any], Any] | None = None,
) -> Any:
    """Return ``data`` with ``fn`` applied to every tensor, keeping the container types.

    Args:
        data: a tensor, or a (nested) tuple, list, dict, namedtuple or dataclass instance.
        fn: applied to each tensor.
        other: applied to each leaf that is not a tensor (leaves are kept as they are if None).
    """
    if isinstance(data, torch.Tensor):
        return fn(data)
    if isinstance(data, Mapping):
        items = [(key, apply_to_tensors(value, fn, other)) for key, value in data.items()]
        return _rebuild_mapping(data, items)
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(apply_to_tensors(item, fn, other) for item in data))
    if isinstance(data, (list, tuple)):
        return type(data)(apply_to_tensors(item, fn, other) for item in data)
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return _apply_to_dataclass(data, fn, other)
    return other(data) if other is not None else data


def _rebuild_mapping(data: Mapping[Any, Any], items: list[tuple[Any, Any]]) -> Any:
    if isinstance(data, dict) and hasattr(data, "default_factory"):  # defaultdict
        return type(data)(data.default_factory, items)
    try:
        return type(data)(items)
    except TypeError:
        # Mappings whose constructor takes something else (e.g. read-only proxies) become dicts.
        return dict(items)


def _apply_to_dataclass(data: Any, fn: Callable[[torch.Tensor], Any], other: Any) -> Any:
    # Copy then set, so fields with init=False survive; object.__setattr__ handles frozen ones.
    result = copy.copy(data)
    for field in dataclasses.fields(data):
        value = apply_to_tensors(getattr(data, field.name), fn, other)
        object.__setattr__(result, field.name, value)
    return result


def move_data_to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor (and every object with a ``.to(device)`` method) in ``batch`` to ``device``.

    Copies to CUDA are issued ``non_blocking`` so they can overlap with compute.

    Args:
        batch: a tensor, a nested collection of tensors, or an object with a ``to`` method.
        device: the target device.
    """
    device = torch.device(device)
    non_blocking = device.type == "cuda"

    def move(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.to(device, non_blocking=non_blocking)

    def move_other(value: Any) -> Any:
        to = getattr(value, "to", None)
        if callable(to) and not isinstance(value, (str, bytes, type)):
            moved = to(device)
            # Some .to() implementations work in place and return None.
            return value if moved is None else moved
        return value

    return apply_to_tensors(batch, move, move_other)
