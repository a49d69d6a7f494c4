"""Accelerators: CPU, CUDA and MPS, and the ``accelerator`` flag parser."""

from placcel.accelerators._registry import ACCELERATOR_NAMES, resolve_accelerator
from placcel.accelerators.accelerator import Accelerator
from placcel.accelerators.cpu import CPUAccelerator
from placcel.accelerators.cuda import CUDAAccelerator
from placcel.accelerators.mps import MPSAccelerator

__all__ = [
    "ACCELERATOR_NAMES",
    "Accelerator",
    "CPUAccelerator",
    "CUDAAccelerator",
    "MPSAccelerator",
    "resolve_accelerator",
]
