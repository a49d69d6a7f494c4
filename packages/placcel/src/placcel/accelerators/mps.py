"""The MPS accelerator: the single GPU of Apple silicon."""

from __future__ import annotations

from typing import Any

import torch

from placcel.accelerators._devices import parse_device_indices
from placcel.accelerators.accelerator import Accelerator

__all__ = ["MPSAccelerator"]


class MPSAccelerator(Accelerator):
    """Runs on Apple's Metal Performance Shaders back-end, which exposes exactly one device."""

    name = "mps"

    @staticmethod
    def parse_devices(devices: Any) -> list[int]:
        """Return ``[0]``: MPS has one device, so only 1, -1, ``[0]`` or ``"auto"`` are valid.

        Args:
            devices: the ``devices`` flag.
        """
        available = 1 if MPSAccelerator.is_available() else 0
        indices = parse_device_indices(devices, available, "MPS")
        if indices != [0]:
            raise ValueError(f"devices={devices!r}: MPS has exactly one device; write devices=1.")
        return indices

    @staticmethod
    def get_parallel_devices(devices: int | list[int]) -> list[torch.device]:
        """``[torch.device("mps", 0)]``.

        Args:
            devices: what :meth:`parse_devices` returned.
        """
        return [torch.device("mps", 0)]

    @staticmethod
    def auto_device_count() -> int:
        """Always 1."""
        return 1

    @staticmethod
    def is_available() -> bool:
        """``torch.backends.mps.is_available()``."""
        return torch.backends.mps.is_available()
