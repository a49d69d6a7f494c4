"""``build_strategy``: the Trainer's flags in, a ready Strategy out.

This is the only place that combines the flags. Each step is a small function: accelerator →
devices → strategy → precision → environment checks → launcher.

Example::

    strategy = build_strategy(accelerator="cpu", strategy="ddp", devices=2)
    strategy.launcher.launch(train, strategy)   # runs train(strategy) on 2 ranks
"""

from __future__ import annotations

from typing import Any

import torch

from placcel.accelerators._registry import resolve_accelerator
from placcel.accelerators.accelerator import Accelerator
from placcel.environments._detect import detect_cluster_environment
from placcel.environments.cluster_environment import ClusterEnvironment
from placcel.environments.lightning import LightningEnvironment
from placcel.precision._registry import precision_from_flag
from placcel.strategies._registry import STRATEGY_NAMES, strategy_from_name
from placcel.strategies.ddp import DDPStrategy
from placcel.strategies.single_device import SingleDeviceStrategy
from placcel.strategies.strategy import Strategy

__all__ = ["build_strategy"]


def build_strategy(
    accelerator: str | Accelerator = "auto",
    strategy: str | Strategy = "auto",
    devices: Any = "auto",
    num_nodes: int = 1,
    precision: Any = "32-true",
    sync_batchnorm: bool = False,
    checkpoint_io: Any = None,
) -> Strategy:
    """Resolve the Trainer's hardware flags into a configured Strategy.

    Args:
        accelerator: ``"cpu"``, ``"gpu"``, ``"cuda"``, ``"mps"``, ``"auto"`` or an Accelerator.
        strategy: ``"auto"``, ``"single_device"``, ``"ddp"``, ``"ddp_spawn"``,
            ``"ddp_find_unused_parameters_true"`` … or a Strategy instance, whose unset parts are
            filled in from the other flags (parts it already has are kept).
        devices: a count, a list of indices, ``"0,1"``, ``-1`` (all) or ``"auto"``. On CPU a
            count of processes. Under torchrun or SLURM, ``"auto"`` follows the job's processes
            per node.
        num_nodes: the number of machines (>= 1).
        precision: ``"32-true"``, ``"64-true"``, ``"16-mixed"``, ``"bf16-mixed"``, ``"16-true"``,
            ``"bf16-true"``, a short form (32, 64, 16, ``"bf16"``) or a Precision.
        sync_batchnorm: convert BatchNorm layers to SyncBatchNorm under DDP.
        checkpoint_io: writes, reads and removes checkpoint files.
    """
    _check_num_nodes(num_nodes)
    given = _check_strategy_flag(strategy)
    environment = _environment(given)
    chosen_accelerator = _accelerator(accelerator, given)
    parallel_devices = _parallel_devices(chosen_accelerator, devices, num_nodes, environment)
    chosen = given or _strategy_for(strategy, parallel_devices, num_nodes, environment)
    _check_fits(
        chosen,
        chosen_accelerator,
        parallel_devices,
        num_nodes,
        sync_batchnorm or getattr(chosen, "sync_batchnorm", False),
    )
    _fill(chosen, chosen_accelerator, parallel_devices, environment, checkpoint_io)
    if chosen._precision is None:
        chosen.precision = precision_from_flag(precision, chosen.parallel_devices[0].type)
    if isinstance(chosen, DDPStrategy):
        chosen.num_nodes = num_nodes
        chosen.sync_batchnorm = chosen.sync_batchnorm or sync_batchnorm
    _validate_environment(chosen, environment, num_nodes)
    chosen._configure()
    return chosen


def _check_num_nodes(num_nodes: Any) -> None:
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ValueError(
            f"num_nodes={num_nodes!r} is not valid; write an int >= 1, e.g. num_nodes=1."
        )


def _check_strategy_flag(strategy: Any) -> Strategy | None:
    if isinstance(strategy, Strategy):
        return strategy
    if not isinstance(strategy, str):
        raise TypeError(
            f"strategy={strategy!r} has type {type(strategy).__name__}; write one of "
            f"{list(STRATEGY_NAMES)} or pass a Strategy instance."
        )
    return None


def _environment(given: Strategy | None) -> ClusterEnvironment:
    if given is not None and given.cluster_environment is not None:
        return given.cluster_environment
    return detect_cluster_environment()


def _accelerator(flag: str | Accelerator, given: Strategy | None) -> Accelerator:
    if given is not None and given.accelerator is not None:
        return given.accelerator
    return resolve_accelerator(flag)


def _is_external(environment: ClusterEnvironment) -> bool:
    """torchrun or SLURM started the processes (plkit's own children do not count)."""
    return environment.creates_processes_externally and not isinstance(
        environment, LightningEnvironment
    )


def _parallel_devices(
    accelerator: Accelerator, devices: Any, num_nodes: int, environment: ClusterEnvironment
) -> list[torch.device]:
    if isinstance(devices, str) and devices.strip() == "auto" and _is_external(environment):
        # Follow the job: torchrun's --nproc_per_node or SLURM's tasks per node.
        devices = environment.local_world_size() or max(environment.world_size() // num_nodes, 1)
    return accelerator.get_parallel_devices(accelerator.parse_devices(devices))


def _strategy_for(
    name: str, devices: list[torch.device], num_nodes: int, environment: ClusterEnvironment
) -> Strategy:
    if name.strip().lower() != "auto":
        return strategy_from_name(name)
    launched_as_many = _is_external(environment) and environment.world_size() > 1
    if len(devices) == 1 and num_nodes == 1 and not launched_as_many:
        return SingleDeviceStrategy()
    return DDPStrategy()


def _check_fits(
    strategy: Strategy,
    accelerator: Accelerator,
    devices: list[torch.device],
    num_nodes: int,
    sync_batchnorm: bool,
) -> None:
    if isinstance(strategy, SingleDeviceStrategy) and (len(devices) > 1 or num_nodes > 1):
        raise ValueError(
            f"strategy='single_device' runs one process on one device, but devices selects "
            f"{len(devices)} device(s) and num_nodes={num_nodes}; use strategy='ddp' or devices=1, "
            "num_nodes=1."
        )
    if isinstance(strategy, DDPStrategy) and sync_batchnorm and accelerator.name != "cuda":
        raise ValueError(
            "sync_batchnorm=True needs CUDA devices (torch's SyncBatchNorm only runs on GPU "
            "modules); set sync_batchnorm=False, or use accelerator='cuda'."
        )
    if isinstance(strategy, DDPStrategy) and accelerator.name == "mps":
        raise ValueError(
            "accelerator='mps' supports one process on its single device; use strategy='auto' "
            "(or 'single_device') with devices=1."
        )


def _fill(
    strategy: Strategy,
    accelerator: Accelerator,
    devices: list[torch.device],
    environment: ClusterEnvironment,
    checkpoint_io: Any,
) -> None:
    if strategy.accelerator is None:
        strategy.accelerator = accelerator
    if strategy.checkpoint_io is None:
        strategy.checkpoint_io = checkpoint_io
    if strategy.cluster_environment is None:
        strategy.cluster_environment = environment
    if isinstance(strategy, SingleDeviceStrategy) and strategy.device is None:
        strategy.device = devices[0]
    if isinstance(strategy, DDPStrategy) and strategy._parallel_devices is None:
        strategy.parallel_devices = devices


def _validate_environment(
    strategy: Strategy, environment: ClusterEnvironment, num_nodes: int
) -> None:
    # Under plkit's own launcher a later single-device Trainer in the script is fine in every
    # rank (as in Lightning); only torchrun/SLURM fix the world size for the whole script.
    if isinstance(strategy, DDPStrategy) or _is_external(environment):
        environment.validate_settings(num_devices=strategy.num_processes, num_nodes=num_nodes)
