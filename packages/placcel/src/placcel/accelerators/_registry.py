"""Turn the ``accelerator`` flag into an :class:`Accelerator` instance."""

from __future__ import annotations

import torch

from placcel.accelerators.accelerator import Accelerator
from placcel.accelerators.cpu import CPUAccelerator
from placcel.accelerators.cuda import CUDAAccelerator
from placcel.accelerators.mps import MPSAccelerator
from placcel.exceptions import ConfigurationError

__all__ = ["ACCELERATOR_NAMES", "resolve_accelerator"]

ACCELERATOR_NAMES = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")


def resolve_accelerator(accelerator: str | Accelerator) -> Accelerator:
    """Return the accelerator the flag names, checking that the hardware is there.

    Args:
        accelerator: ``"cpu"``, ``"gpu"``, ``"cuda"``, ``"mps"``, ``"auto"`` (CUDA, else MPS, else
            CPU) or an :class:`Accelerator` instance.
    """
    if isinstance(accelerator, Accelerator):
        _check_available(accelerator, repr(accelerator))
        return accelerator
    if not isinstance(accelerator, str):
        raise TypeError(
            f"accelerator={accelerator!r} has type {type(accelerator).__name__}; write one of "
            f"{list(ACCELERATOR_NAMES)} or pass an Accelerator instance."
        )
    name = accelerator.strip().lower()
    if name == "auto":
        return _auto()
    if name == "tpu":
        raise ValueError(
            "accelerator='tpu' needs torch_xla, which plkit does not support; use "
            "accelerator='cuda', 'cpu' or 'auto'."
        )
    if name == "gpu":
        return _gpu()
    classes = {"cpu": CPUAccelerator, "cuda": CUDAAccelerator, "mps": MPSAccelerator}
    if name not in classes:
        raise ValueError(
            f"accelerator={accelerator!r} is not known; write one of {list(ACCELERATOR_NAMES)}."
        )
    instance = classes[name]()
    _check_available(instance, repr(name))
    return instance


def _auto() -> Accelerator:
    if CUDAAccelerator.is_available():
        return CUDAAccelerator()
    if MPSAccelerator.is_available():
        return MPSAccelerator()
    return CPUAccelerator()


def _gpu() -> Accelerator:
    # Lightning's "gpu" means whichever GPU back-end this machine has.
    if CUDAAccelerator.is_available():
        return CUDAAccelerator()
    if MPSAccelerator.is_available():
        return MPSAccelerator()
    raise ConfigurationError(
        "accelerator='gpu' was requested but no CUDA device is available "
        "(torch.cuda.is_available() is False) and no MPS device either. "
        "Use accelerator='cpu' or 'auto'."
    )


def _check_available(accelerator: Accelerator, written: str) -> None:
    if accelerator.is_available():
        return
    detail = {
        "cuda": "no CUDA device is available (torch.cuda.is_available() is False)",
        "mps": "MPS is not available (torch.backends.mps.is_available() is False)",
    }.get(accelerator.name, f"{type(accelerator).__name__}.is_available() is False")
    raise ConfigurationError(
        f"accelerator={written} was requested but {detail}. Available here: "
        f"{_available_names()}. Use accelerator='cpu' or 'auto'."
    )


def _available_names() -> list[str]:
    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
    if torch.backends.mps.is_available():
        names.append("mps")
    return names
