"""Apply a function to every element of a given type inside a nested collection.

::

    from plcore.utilities import apply_to_collection, move_data_to_device

    halves = apply_to_collection(batch, torch.Tensor, lambda t: t.half())
    batch = move_data_to_device(batch, "cuda:0")

Containers keep their type: dicts (``OrderedDict``, ``defaultdict`` with its factory and other
mappings), lists, tuples, namedtuples, sets and dataclass instances (a shallow copy with its init
fields replaced; the original is left untouched).
"""

from __future__ import annotations

import copy
import dataclasses
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

__all__ = ["apply_to_collection", "move_data_to_device"]

# Device types where an asynchronous host-to-device copy is not possible or not safe.
_BLOCKING_DEVICE_TYPES = ("cpu", "mps")


def apply_to_collection(
    data: Any,
    dtype: type | tuple[type, ...],
    function: Callable[..., Any],
    *args: Any,
    wrong_dtype: type | tuple[type, ...] | None = None,
    include_none: bool = True,
    allow_frozen: bool = False,
    **kwargs: Any,
) -> Any:
    """Call ``function`` on every element of ``data`` that is an instance of ``dtype``.

    Args:
        data: a value or a nested collection of values.
        dtype: the type (or tuple of types) ``function`` is applied to.
        function: called as ``function(element, *args, **kwargs)``.
        *args: extra positional arguments for ``function``.
        wrong_dtype: types to leave alone even though they are instances of ``dtype``.
        include_none: if False, drop mapping and sequence entries for which ``function``
            returned None (dataclass fields keep their old value instead).
        allow_frozen: if True, frozen dataclasses are rebuilt too; otherwise they raise.
        **kwargs: extra keyword arguments for ``function``.

    Returns:
        A collection of the same shape with the results in place of the matching elements.
    """
    if isinstance(data, dtype) and (wrong_dtype is None or not isinstance(data, wrong_dtype)):
        return function(data, *args, **kwargs)

    def recurse(value: Any) -> Any:
        return apply_to_collection(
            value,
            dtype,
            function,
            *args,
            wrong_dtype=wrong_dtype,
            include_none=include_none,
            allow_frozen=allow_frozen,
            **kwargs,
        )

    return _apply_to_container(data, recurse, include_none, allow_frozen)


def _apply_to_container(
    data: Any, recurse: Callable[[Any], Any], include_none: bool, allow_frozen: bool
) -> Any:
    """Rebuild ``data`` with ``recurse`` applied to its elements; non-containers pass through."""
    if isinstance(data, Mapping):
        items = [(key, recurse(value)) for key, value in data.items()]
        return _rebuild_mapping(data, [(k, v) for k, v in items if include_none or v is not None])
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a namedtuple
        return type(data)(*(recurse(value) for value in data))
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return _rebuild_dataclass(data, recurse, include_none, allow_frozen)
    if isinstance(data, (set, frozenset)):
        values = (recurse(value) for value in data)
        return type(data)(v for v in values if include_none or v is not None)
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes, bytearray)):
        values = (recurse(value) for value in data)
        return type(data)([v for v in values if include_none or v is not None])
    return data


def _rebuild_mapping(data: Mapping, items: list[tuple[Any, Any]]) -> Mapping:
    """A mapping of ``data``'s type holding ``items``; a defaultdict keeps its factory."""
    if isinstance(data, defaultdict):
        return type(data)(data.default_factory, items)
    return type(data)(items)


def _rebuild_dataclass(
    data: Any, recurse: Callable[[Any], Any], include_none: bool, allow_frozen: bool
) -> Any:
    """A shallow copy of the dataclass instance ``data`` with its init fields transformed."""
    frozen = data.__dataclass_params__.frozen
    if frozen and not allow_frozen:
        raise ValueError(
            f"`apply_to_collection` got a frozen dataclass ({type(data).__name__}) whose fields it"
            " cannot replace. Pass `allow_frozen=True` to rebuild it anyway, or unfreeze it."
        )
    result = copy.copy(data)
    for field in dataclasses.fields(data):
        if not field.init:
            continue
        value = recurse(getattr(data, field.name))
        if value is None and not include_none:
            continue
        # object.__setattr__ also works on frozen instances (only reached with allow_frozen).
        object.__setattr__(result, field.name, value)
    return result


class _TransferableDataType(ABC):
    """Anything with a callable ``.to`` method (tensors, modules, user batch classes)."""

    @abstractmethod
    def to(self, *args: Any, **kwargs: Any) -> Any:
        """Move to a device; matched structurally by ``__subclasshook__``, never inherited."""

    @classmethod
    def __subclasshook__(cls, subclass: type) -> Any:
        if cls is _TransferableDataType:
            return callable(getattr(subclass, "to", None)) or NotImplemented
        return NotImplemented


def move_data_to_device(batch: Any, device: torch.device | str | int) -> Any:
    """Move every tensor and every object with a ``.to`` method in ``batch`` to ``device``.

    Args:
        batch: a tensor, an object with ``.to(device)``, or a nested collection of them.
        device: where to move them, e.g. ``"cuda:0"``, ``torch.device("cpu")`` or ``0``.

    Returns:
        The same structure on ``device``. Tensor copies to an accelerator are non-blocking.
    """
    if isinstance(device, (str, int)):
        device = torch.device(device)
    if not isinstance(device, torch.device):
        raise TypeError(
            f"`device` must be a torch.device, a str such as 'cuda:0' or an int, got {device!r}."
        )
    non_blocking = device.type not in _BLOCKING_DEVICE_TYPES

    def to_device(data: Any) -> Any:
        if isinstance(data, torch.Tensor):
            return data.to(device, non_blocking=non_blocking)
        moved = data.to(device)
        # A user `.to` that forgets to `return self` still moved the object in place.
        return data if moved is None else moved

    return apply_to_collection(batch, _TransferableDataType, to_device, allow_frozen=True)
