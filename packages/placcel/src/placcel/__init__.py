"""placcel: accelerators, precision, strategies and launchers for plkit, on torch.distributed.

placcel knows devices and processes and nothing about LightningModules: strategies take
``nn.Module``\\ s, optimizers, tensors and callables. The Trainer builds one Strategy::

    from placcel import build_strategy

    strategy = build_strategy(accelerator="auto", strategy="auto", devices="auto")
"""

from placcel.__about__ import __version__
from placcel._connect import build_strategy
from placcel.accelerators import (
    Accelerator,
    CPUAccelerator,
    CUDAAccelerator,
    MPSAccelerator,
)
from placcel.collectives import SingleProcessCollectives, TorchCollectives
from placcel.environments import (
    ClusterEnvironment,
    LightningEnvironment,
    SLURMEnvironment,
    TorchElasticEnvironment,
    detect_cluster_environment,
)
from placcel.exceptions import ConfigurationError, RendezvousError
from placcel.launchers import Launcher, MultiProcessingLauncher, SubprocessScriptLauncher
from placcel.precision import DoublePrecision, HalfPrecision, MixedPrecision, Precision
from placcel.strategies import (
    DDPStrategy,
    FSDPStrategy,
    SingleDeviceStrategy,
    StepFunctions,
    Strategy,
)

__all__ = [
    "Accelerator",
    "CPUAccelerator",
    "CUDAAccelerator",
    "ClusterEnvironment",
    "ConfigurationError",
    "DDPStrategy",
    "DoublePrecision",
    "FSDPStrategy",
    "HalfPrecision",
    "LightningEnvironment",
    "Launcher",
    "MPSAccelerator",
    "MixedPrecision",
    "MultiProcessingLauncher",
    "Precision",
    "RendezvousError",
    "SLURMEnvironment",
    "SingleDeviceStrategy",
    "StepFunctions",
    "SingleProcessCollectives",
    "Strategy",
    "SubprocessScriptLauncher",
    "TorchCollectives",
    "TorchElasticEnvironment",
    "__version__",
    "build_strategy",
    "detect_cluster_environment",
]
