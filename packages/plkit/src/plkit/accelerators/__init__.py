"""``lightning.pytorch.accelerators``: pass one as ``Trainer(accelerator=...)``."""

from placcel import Accelerator, CPUAccelerator, CUDAAccelerator, MPSAccelerator

__all__ = ["Accelerator", "CPUAccelerator", "CUDAAccelerator", "MPSAccelerator"]
