"""The CUDA accelerator: ``devices`` selects GPU indices; each process uses one GPU."""

from __future__ import annotations

from typing import Any

import torch

from placcel.accelerators._devices import parse_device_indices
from placcel.accelerators.accelerator import Accelerator

__all__ = ["CUDAAccelerator"]


class CUDAAccelerator(Accelerator):
    """Runs on NVIDIA GPUs through CUDA (``accelerator="gpu"`` or ``"cuda"``)."""

    name = "cuda"

    def setup_device(self, device: torch.device) -> None:
        """Make ``device`` the current CUDA device of this process.

        Args:
            device: a ``cuda`` device with an index.
        """
        if device.type != "cuda":
            raise ValueError(f"CUDAAccelerator got device={device}; pass a cuda device.")
        torch.cuda.set_device(device)

    def teardown(self) -> None:
        """Return cached blocks to the driver so a following run starts clean."""
        if torch.cuda.is_initialized():
            torch.cuda.empty_cache()

    def get_device_stats(self, device: torch.device) -> dict[str, Any]:
        """``torch.cuda.memory_stats`` of ``device``.

        Args:
            device: the cuda device to describe.
        """
        return dict(torch.cuda.memory_stats(device))

    @staticmethod
    def parse_devices(devices: Any) -> list[int]:
        """Return the CUDA indices selected by the ``devices`` flag.

        Args:
            devices: a count, ``-1``/``"auto"`` for all GPUs, a list of indices or ``"0,1"``.
        """
        return parse_device_indices(devices, torch.cuda.device_count(), "CUDA")

    @staticmethod
    def get_parallel_devices(devices: int | list[int]) -> list[torch.device]:
        """One ``cuda:i`` device per selected index.

        Args:
            devices: the indices from :meth:`parse_devices` (a count means the first N).
        """
        indices = range(devices) if isinstance(devices, int) else devices
        return [torch.device("cuda", index) for index in indices]

    @staticmethod
    def auto_device_count() -> int:
        """All visible GPUs."""
        return torch.cuda.device_count()

    @staticmethod
    def is_available() -> bool:
        """``torch.cuda.is_available()``."""
        return torch.cuda.is_available()
