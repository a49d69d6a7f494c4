"""Double precision (``"64-true"``): weights, inputs and new tensors in float64."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import nn

from placcel.precision._dtype import cast_floating, default_dtype
from placcel.precision.precision import Precision

__all__ = ["DoublePrecision"]


class DoublePrecision(Precision):
    """Train entirely in float64 (``precision="64-true"``), e.g. for gradient checks."""

    precision = "64-true"
    has_forward_context = True
    converts_input = True

    def convert_module(self, module: nn.Module) -> nn.Module:
        """Cast the module's floating parameters and buffers to float64.

        Args:
            module: the module to convert in place.
        """
        return module.double()

    def convert_input(self, data: Any) -> Any:
        """Cast the floating tensors of ``data`` to float64.

        Args:
            data: a tensor or a collection of tensors.
        """
        return cast_floating(data, torch.float64)

    def forward_context(self) -> AbstractContextManager[Any]:
        """Make float64 the default dtype during the forward pass."""
        return default_dtype(torch.float64)
