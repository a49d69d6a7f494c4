"""The Accelerator interface: what a Strategy needs to know about one kind of hardware.

An accelerator turns the ``devices`` flag into concrete ``torch.device`` objects and prepares
a process to use one of them. It knows nothing about processes or ranks; that is the
Strategy's job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

__all__ = ["Accelerator"]


class Accelerator(ABC):
    """Base class of the hardware back-ends (CPU, CUDA, MPS).

    Subclasses set :attr:`name` and implement the static helpers below. They are stateless, so one
    instance can be shared by every Strategy of a process.
    """

    #: The short name used in flags and error messages (``"cpu"``, ``"cuda"``, ``"mps"``).
    name: str = ""

    def setup_device(self, device: torch.device) -> None:
        """Prepare the current process to run on ``device`` (e.g. select the CUDA device).

        Args:
            device: the device this process will use.
        """
        return None

    def teardown(self) -> None:
        """Release what :meth:`setup_device` acquired (nothing by default)."""
        return None

    def get_device_stats(self, device: torch.device) -> dict[str, Any]:
        """Return memory or utilisation figures for ``device`` (empty when there are none).

        Args:
            device: the device to describe.
        """
        return {}

    @staticmethod
    @abstractmethod
    def parse_devices(devices: Any) -> int | list[int]:
        """Validate the ``devices`` flag and return a count (CPU) or a list of device indices.

        Args:
            devices: an int, a list of indices, a string like ``"2"`` or ``"0,1"``, ``-1`` or
                ``"auto"``.
        """

    @staticmethod
    @abstractmethod
    def get_parallel_devices(devices: int | list[int]) -> list[torch.device]:
        """Turn the output of :meth:`parse_devices` into one ``torch.device`` per process.

        Args:
            devices: what :meth:`parse_devices` returned.
        """

    @staticmethod
    @abstractmethod
    def auto_device_count() -> int:
        """Return how many devices ``devices="auto"`` selects."""

    @staticmethod
    @abstractmethod
    def is_available() -> bool:
        """Return whether this hardware can be used in the current process."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
