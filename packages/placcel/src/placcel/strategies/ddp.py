"""Distributed data parallel: one process per device, gradients averaged by ``DistributedDataParallel``.

One machine, two processes (``strategy="ddp"`` re-runs the script for rank 1)::

    python train.py               # Trainer(accelerator="cpu", strategy="ddp", devices=2)

Under torchrun (the processes already exist)::

    torchrun --nproc_per_node 2 train.py

Spawned workers instead of a re-run script (function and arguments must be picklable)::

    Trainer(strategy="ddp_spawn", devices=2)
"""

from __future__ import annotations

import atexit
import logging
import os
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from placcel._rendezvous import create_store, rendezvous_timeout
from placcel.accelerators.accelerator import Accelerator
from placcel.collectives import SingleProcessCollectives, TorchCollectives
from placcel.environments.cluster_environment import ClusterEnvironment
from placcel.environments.lightning import LightningEnvironment
from placcel.launchers._watchdog import watch_parent
from placcel.launchers.multiprocessing import MultiProcessingLauncher
from placcel.launchers.subprocess_script import PARENT_PID_VARIABLE, SubprocessScriptLauncher
from placcel.precision.precision import Precision
from placcel.strategies.strategy import Strategy

__all__ = ["START_METHODS", "DDPStrategy"]

START_METHODS = ("popen", "spawn", "fork", "forkserver")
log = logging.getLogger(__name__)
_watching_parent = False


class DDPStrategy(Strategy):
    """One process per device; the module is wrapped in ``DistributedDataParallel``.

    Args:
        accelerator: the hardware back-end.
        parallel_devices: one device per local process (filled in by ``build_strategy``).
        cluster_environment: where this process sits (detected by ``build_strategy``).
        checkpoint_io: writes, reads and removes checkpoint files (rank 0 writes).
        precision: the precision (``"32-true"`` when None).
        process_group_backend: ``"gloo"``, ``"nccl"`` …; nccl on CUDA and gloo otherwise when None.
        timeout: how long a collective may wait for the other ranks before failing.
        rendezvous_timeout: how long the ranks may take to meet when the process group forms;
            None reads ``PLKIT_RENDEZVOUS_TIMEOUT`` (seconds), else 5 minutes. On expiry a
            :class:`~placcel.exceptions.RendezvousError` names the address and port.
        start_method: ``"popen"`` re-runs the script per rank; ``"spawn"``, ``"fork"`` or
            ``"forkserver"`` use ``torch.multiprocessing``.
        find_unused_parameters: passed to ``DistributedDataParallel``.
        static_graph: passed to ``DistributedDataParallel``.
        sync_batchnorm: convert BatchNorm layers to ``SyncBatchNorm`` in :meth:`setup_module`.
        **ddp_kwargs: other ``DistributedDataParallel`` arguments (e.g. ``bucket_cap_mb``).
    """

    steps_through_forward = True  # DistributedDataParallel prepares the gradient sync in forward

    def __init__(
        self,
        accelerator: Accelerator | None = None,
        parallel_devices: list[torch.device] | None = None,
        cluster_environment: ClusterEnvironment | None = None,
        checkpoint_io: Any = None,
        precision: Precision | None = None,
        process_group_backend: str | None = None,
        timeout: timedelta = timedelta(minutes=30),
        rendezvous_timeout: timedelta | None = None,
        start_method: str = "popen",
        find_unused_parameters: bool = False,
        static_graph: bool = False,
        sync_batchnorm: bool = False,
        **ddp_kwargs: Any,
    ) -> None:
        super().__init__(accelerator=accelerator, checkpoint_io=checkpoint_io, precision=precision)
        _check_arguments(start_method, timeout, rendezvous_timeout)
        self._parallel_devices = parallel_devices
        self.cluster_environment = cluster_environment
        self.process_group_backend = process_group_backend
        self.timeout = timeout
        self.rendezvous_timeout = rendezvous_timeout
        self.start_method = start_method
        self.sync_batchnorm = sync_batchnorm
        self.ddp_kwargs = {
            "find_unused_parameters": find_unused_parameters,
            "static_graph": static_graph,
            **ddp_kwargs,
        }
        self._num_nodes = 1
        self._local_rank: int | None = None
        self._created_process_group = False

    # -- topology ------------------------------------------------------------------------------

    @property
    def parallel_devices(self) -> list[torch.device]:
        """One device per local process."""
        if self._parallel_devices is None:
            raise RuntimeError(
                "DDPStrategy has no parallel_devices; pass parallel_devices=[...] or build it "
                "with placcel.build_strategy(strategy='ddp', devices=...)."
            )
        return self._parallel_devices

    @parallel_devices.setter
    def parallel_devices(self, devices: list[torch.device] | None) -> None:
        self._parallel_devices = devices

    @property
    def num_nodes(self) -> int:
        """The number of nodes."""
        return self._num_nodes

    @num_nodes.setter
    def num_nodes(self, num_nodes: int) -> None:
        if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
            raise ValueError(f"num_nodes={num_nodes!r} is not valid; write an int >= 1.")
        self._num_nodes = num_nodes

    @property
    def root_device(self) -> torch.device:
        """``parallel_devices[local_rank]``."""
        return self.parallel_devices[self.local_rank]

    @property
    def local_rank(self) -> int:
        """Set by a spawn launcher, else read from the cluster environment."""
        if self._local_rank is not None:
            return self._local_rank
        return self._environment().local_rank()

    @property
    def node_rank(self) -> int:
        """The cluster environment's node rank."""
        return self._environment().node_rank()

    @property
    def global_rank(self) -> int:
        """The cluster environment's global rank."""
        return self._environment().global_rank()

    @property
    def world_size(self) -> int:
        """The cluster environment's world size."""
        return self._environment().world_size()

    @property
    def distributed_sampler_kwargs(self) -> dict[str, int]:
        """``{"num_replicas": world_size, "rank": global_rank}``."""
        return {"num_replicas": self.num_nodes * self.num_processes, "rank": self.global_rank}

    # -- setup ---------------------------------------------------------------------------------

    def setup_environment(self) -> None:
        """Select the device, then join (or create) the process group."""
        self._set_world_ranks()
        _watch_parent_if_child(self._environment(), self.global_rank)
        super().setup_environment()
        if not dist.is_initialized():
            self._init_process_group()
        self.collectives = TorchCollectives(device=self.root_device)

    def setup_module(self, module: nn.Module) -> nn.Module:
        """Convert precision, move to the device, optionally sync BatchNorm, wrap in DDP.

        Args:
            module: the model.
        """
        if not dist.is_initialized():
            raise RuntimeError(
                "DDPStrategy.setup_module needs the process group; call setup_environment() first."
            )
        if self.sync_batchnorm and self.root_device.type != "cuda":
            raise ValueError(
                "sync_batchnorm=True needs CUDA devices (torch's SyncBatchNorm only runs on GPU "
                "modules); set sync_batchnorm=False, or use accelerator='cuda'."
            )
        module = super().setup_module(module)
        if self.sync_batchnorm:
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        device_ids = [self.root_device.index] if self.root_device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=device_ids, **self.ddp_kwargs)

    def no_backward_sync(self, module: nn.Module, enabled: bool) -> AbstractContextManager[Any]:
        """``module.no_sync()`` when ``enabled`` and ``module`` is DDP-wrapped.

        Args:
            module: what :meth:`setup_module` returned.
            enabled: skip the gradient all-reduce (while accumulating gradients).
        """
        if enabled and isinstance(module, DistributedDataParallel):
            return module.no_sync()
        return nullcontext()

    def teardown(self) -> None:
        """Release the module and collectives; the process group stays for the next entry point.

        As in Lightning, a group this strategy created lives until the process exits (destroyed
        then, by an ``atexit`` hook): tearing it down between ``fit`` and ``test`` would let a
        fast rank join the next group's rendezvous while a slow one still holds the old store.
        """
        self.collectives = SingleProcessCollectives()
        super().teardown()

    # -- internals -----------------------------------------------------------------------------

    def _environment(self) -> ClusterEnvironment:
        if self.cluster_environment is None:
            self.cluster_environment = LightningEnvironment()
        return self.cluster_environment

    def _configure(self) -> None:
        self._set_world_ranks()
        environment = self._environment()
        if self.start_method == "popen":
            if environment.creates_processes_externally:
                self.launcher = None
            else:
                self.launcher = SubprocessScriptLauncher(
                    environment, self.num_processes, self.num_nodes
                )
        else:
            self.launcher = MultiProcessingLauncher(self, start_method=self.start_method)

    def _set_local_rank(self, local_rank: int) -> None:
        self._local_rank = local_rank
        self._set_world_ranks()

    def _set_world_ranks(self) -> None:
        environment = self._environment()
        environment.set_global_rank(self.node_rank * self.num_processes + self.local_rank)
        environment.set_world_size(self.num_nodes * self.num_processes)

    def _backend(self) -> str:
        if self.process_group_backend is not None:
            return self.process_group_backend
        return "nccl" if self.root_device.type == "cuda" else "gloo"

    def _init_process_group(self) -> None:
        environment = self._environment()
        address, port = environment.main_address, environment.main_port
        # Kept in the environment, as env:// would need them, for code that reads them later.
        os.environ["MASTER_ADDR"] = address
        os.environ["MASTER_PORT"] = str(port)
        rank, size, backend = self.global_rank, self.world_size, self._backend()
        log.info(f"Initializing distributed: GLOBAL_RANK: {rank}, MEMBER: {rank + 1}/{size}")
        # torchrun's agent (TORCHELASTIC_USE_AGENT_STORE) already hosts the store, as in env://.
        agent_store = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == str(True)
        store = create_store(
            address, port, rank, size, rendezvous_timeout(self.rendezvous_timeout), agent_store
        )
        store.set_timeout(self.timeout)
        dist.init_process_group(
            backend, store=store, rank=rank, world_size=size, timeout=self.timeout
        )
        self._created_process_group = True
        atexit.register(_destroy_process_group)
        if rank == 0:  # Lightning's banner, word for word
            rule = "-" * 100
            log.info(
                f"{rule}\ndistributed_backend={backend}\nAll distributed processes registered."
                f" Starting with {size} processes\n{rule}\n"
            )


def _destroy_process_group() -> None:
    """At exit: free the process group's resources (NCCL warns about a group left behind)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _check_arguments(
    start_method: str, timeout: timedelta, rendezvous_timeout: timedelta | None
) -> None:
    if start_method not in START_METHODS:
        raise ValueError(
            f"start_method={start_method!r} is not valid; write one of {list(START_METHODS)}."
        )
    if not isinstance(timeout, timedelta):
        raise TypeError(
            f"timeout={timeout!r} must be a datetime.timedelta, e.g. timedelta(minutes=5)."
        )
    if rendezvous_timeout is not None and not isinstance(rendezvous_timeout, timedelta):
        raise TypeError(
            f"rendezvous_timeout={rendezvous_timeout!r} must be a datetime.timedelta or None, "
            "e.g. timedelta(minutes=5)."
        )


def _watch_parent_if_child(environment: ClusterEnvironment, rank: int) -> None:
    """In a rank started by SubprocessScriptLauncher, exit when the launching process dies."""
    global _watching_parent
    parent = os.environ.get(PARENT_PID_VARIABLE)
    if _watching_parent or not parent or not isinstance(environment, LightningEnvironment):
        return
    _watching_parent = True
    watch_parent(int(parent), rank)
