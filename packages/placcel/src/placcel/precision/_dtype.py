"""Helpers shared by the "true" precisions: casting collections and the default-dtype context."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from placcel._apply import apply_to_tensors

__all__ = ["cast_floating", "default_dtype"]


def cast_floating(data: Any, dtype: torch.dtype) -> Any:
    """Cast every floating-point tensor in ``data`` to ``dtype``; leave other values alone.

    Args:
        data: a tensor or a (nested) collection of tensors.
        dtype: the floating dtype to cast to.
    """

    def cast(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.to(dtype) if torch.is_floating_point(tensor) else tensor

    return apply_to_tensors(data, cast)


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Make ``dtype`` the default dtype inside the block, so tensors created there match.

    Args:
        dtype: the floating dtype to make the default.
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)
