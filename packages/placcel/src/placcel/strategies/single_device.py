"""One process on one device: the default when ``devices=1`` and ``num_nodes=1``."""

from __future__ import annotations

from typing import Any

import torch

from placcel.accelerators.accelerator import Accelerator
from placcel.precision.precision import Precision
from placcel.strategies.strategy import Strategy

__all__ = ["SingleDeviceStrategy"]


class SingleDeviceStrategy(Strategy):
    """Train in this process on one device; collectives are the single-process null object.

    Args:
        device: the device (``"cpu"``, ``"cuda:1"``, a ``torch.device``); filled in by
            ``build_strategy`` from the ``devices`` flag when None (CPU if still unset).
        accelerator: the hardware back-end.
        checkpoint_io: writes, reads and removes checkpoint files.
        precision: the precision (``"32-true"`` when None).
    """

    def __init__(
        self,
        device: torch.device | str | int | None = None,
        accelerator: Accelerator | None = None,
        checkpoint_io: Any = None,
        precision: Precision | None = None,
    ) -> None:
        super().__init__(accelerator=accelerator, checkpoint_io=checkpoint_io, precision=precision)
        self.device = _to_device(device) if device is not None else None

    @property
    def root_device(self) -> torch.device:
        """The strategy's device (CPU when none was set)."""
        return self.device if self.device is not None else torch.device("cpu")

    @property
    def parallel_devices(self) -> list[torch.device]:
        """``[root_device]``."""
        return [self.root_device]


def _to_device(device: torch.device | str | int) -> torch.device:
    if isinstance(device, bool) or not isinstance(device, (torch.device, str, int)):
        raise TypeError(
            f"device={device!r} is not a device; pass e.g. 'cpu', 'cuda:0' or torch.device('cpu')."
        )
    if isinstance(device, int):
        return torch.device("cuda", device)
    return torch.device(device)
