"""True half precision (``"16-true"``, ``"bf16-true"``): weights and inputs in 16 bits."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import nn

from placcel.precision._dtype import cast_floating, default_dtype
from placcel.precision.precision import Precision

__all__ = ["HalfPrecision"]

_DTYPES = {"16-true": torch.float16, "bf16-true": torch.bfloat16}


class HalfPrecision(Precision):
    """Keep weights, inputs and activations in float16 or bfloat16, without autocast.

    Args:
        precision: ``"16-true"`` (float16) or ``"bf16-true"`` (bfloat16).
    """

    has_forward_context = True
    converts_input = True

    def __init__(self, precision: str = "16-true") -> None:
        if precision not in _DTYPES:
            raise ValueError(
                f"HalfPrecision(precision={precision!r}) is not valid; write one of "
                f"{list(_DTYPES)}."
            )
        self.precision = precision
        self.dtype = _DTYPES[precision]

    def convert_module(self, module: nn.Module) -> nn.Module:
        """Cast the module's floating parameters and buffers to the half dtype.

        Args:
            module: the module to convert in place.
        """
        return module.to(dtype=self.dtype)

    def convert_input(self, data: Any) -> Any:
        """Cast the floating tensors of ``data`` to the half dtype.

        Args:
            data: a tensor or a collection of tensors.
        """
        return cast_floating(data, self.dtype)

    def forward_context(self) -> AbstractContextManager[Any]:
        """Make the half dtype the default dtype during the forward pass."""
        return default_dtype(self.dtype)
