"""Turn a ``strategy`` name into a Strategy instance (Lightning's registered names)."""

from __future__ import annotations

from typing import Any

from placcel.strategies.ddp import DDPStrategy
from placcel.strategies.fsdp import FSDPStrategy
from placcel.strategies.single_device import SingleDeviceStrategy
from placcel.strategies.strategy import Strategy

__all__ = ["STRATEGY_NAMES", "strategy_from_name"]


def _ddp_entries() -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for prefix, start_method in (
        ("ddp", "popen"),
        ("ddp_spawn", "spawn"),
        ("ddp_fork", "fork"),
        ("ddp_notebook", "fork"),
    ):
        entries[prefix] = {"start_method": start_method}
        for unused in (True, False):
            name = f"{prefix}_find_unused_parameters_{str(unused).lower()}"
            entries[name] = {"start_method": start_method, "find_unused_parameters": unused}
    return entries


_DDP = _ddp_entries()
_FSDP: dict[str, dict[str, Any]] = {"fsdp": {}, "fsdp_cpu_offload": {"cpu_offload": True}}
STRATEGY_NAMES = ("auto", "single_device", *_DDP, *_FSDP)

# Names Lightning knows that plkit does not implement, with what to use instead.
_UNSUPPORTED = {
    "dp": "DataParallel is deprecated in PyTorch; use strategy='ddp'",
    "deepspeed": "DeepSpeed is not supported; use strategy='ddp'",
    "xla": "XLA/TPU needs torch_xla, which plkit does not support; use strategy='ddp'",
}


def strategy_from_name(name: str) -> Strategy:
    """Return a new, not yet configured Strategy for a registered name (not ``"auto"``).

    Args:
        name: ``"single_device"``, ``"ddp"``, ``"ddp_spawn"``, ``"ddp_find_unused_parameters_true"`` …
    """
    key = name.strip().lower()
    if key == "single_device":
        return SingleDeviceStrategy()
    if key in _DDP:
        return DDPStrategy(**_DDP[key])
    if key in _FSDP:
        return FSDPStrategy(**_FSDP[key])
    if key in _UNSUPPORTED:
        raise ValueError(f"strategy={name!r}: {_UNSUPPORTED[key]}.")
    raise ValueError(f"strategy={name!r} is not known; write one of {list(STRATEGY_NAMES)}.")
