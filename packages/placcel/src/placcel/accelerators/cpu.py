"""The CPU accelerator: ``devices=N`` means N processes, each on the CPU."""

from __future__ import annotations

import os
from typing import Any

import torch

from placcel.accelerators._devices import _check_not_bool, _indices_from_string
from placcel.accelerators.accelerator import Accelerator
from placcel.exceptions import ConfigurationError

__all__ = ["CPUAccelerator", "get_cpu_stats"]


class CPUAccelerator(Accelerator):
    """Runs on the CPU. The ``devices`` flag is a number of processes, not a list of devices.

    Example::

        CPUAccelerator.parse_devices(2)  # 2 processes
        CPUAccelerator.get_parallel_devices(2)  # [device('cpu'), device('cpu')]
    """

    name = "cpu"

    def get_device_stats(self, device: torch.device) -> dict[str, Any]:
        """System-wide CPU, memory and swap use in percent (:func:`get_cpu_stats`; needs psutil).

        Args:
            device: the CPU device (the figures are the machine's).
        """
        return get_cpu_stats()

    @staticmethod
    def parse_devices(devices: Any) -> int:
        """Return the number of CPU processes the ``devices`` flag asks for.

        Args:
            devices: a positive int, ``-1`` (one per CPU core), a string of either, or ``"auto"``
                (one process).
        """
        _check_not_bool(devices)
        if isinstance(devices, str):
            try:
                devices = 1 if devices.strip() == "auto" else _indices_from_string(devices)
            except ValueError as exc:  # a TypeError on CPU, as under Lightning
                raise TypeError(str(exc)) from None
        if isinstance(devices, (list, tuple)):
            raise TypeError(
                f"devices={devices!r}: on CPU, devices is a number of processes, not a list of "
                f"indices; write devices={len(devices)}."
            )
        if not isinstance(devices, int):
            raise TypeError(
                f"devices={devices!r} has type {type(devices).__name__}; on CPU write a positive "
                "int such as devices=2, or 'auto'."
            )
        if devices == -1:
            return CPUAccelerator.auto_device_count_all()
        if devices == 0:
            raise ConfigurationError(
                "devices=0 is not valid on CPU; write a positive number of processes, -1 for one "
                "per CPU core, or 'auto'."
            )
        if devices < 0:
            raise TypeError(
                f"devices={devices} is not valid on CPU; write a positive number of processes, "
                "-1 for one per CPU core, or 'auto'."
            )
        return devices

    @staticmethod
    def get_parallel_devices(devices: int | list[int]) -> list[torch.device]:
        """One ``torch.device("cpu")`` per process.

        Args:
            devices: the process count from :meth:`parse_devices`.
        """
        count = devices if isinstance(devices, int) else len(devices)
        return [torch.device("cpu")] * count

    @staticmethod
    def auto_device_count() -> int:
        """``devices="auto"`` on CPU is one process (more would only compete for the cores)."""
        return 1

    @staticmethod
    def auto_device_count_all() -> int:
        """The number of CPU cores, what ``devices=-1`` selects."""
        return os.cpu_count() or 1

    @staticmethod
    def is_available() -> bool:
        """The CPU is always available."""
        return True


def get_cpu_stats() -> dict[str, float]:
    """``cpu_vm_percent``, ``cpu_percent`` and ``cpu_swap_percent`` of the machine, from psutil
    (imported here, on first use).

    Raises:
        ModuleNotFoundError: when psutil is not installed.
    """
    try:
        import psutil  # type: ignore[import-untyped, unused-ignore]
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "Fetching CPU device stats requires `psutil` to be installed. Install it with"
            " `pip install 'placcel[stats]'` (or `pip install psutil`)."
        ) from None
    return {
        "cpu_vm_percent": psutil.virtual_memory().percent,
        "cpu_percent": psutil.cpu_percent(),
        "cpu_swap_percent": psutil.swap_memory().percent,
    }
