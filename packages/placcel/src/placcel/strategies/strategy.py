"""The Strategy: one place that decides devices, processes, precision and collectives.

A Strategy is composed of an Accelerator, a Precision, a cluster environment, a launcher and a
checkpoint writer (``checkpoint_io``, given by plkit). It works on plain ``nn.Module``\\ s,
optimizers, tensors and callables; it never sees a LightningModule.

Single process::

    strategy = build_strategy(accelerator="cpu")
    strategy.setup_environment()
    model = strategy.setup_module(model)
    with strategy.forward_context():
        loss = model(strategy.batch_to_device(batch)).sum()
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import torch
from torch import nn

from placcel._apply import move_data_to_device
from placcel._empty_init import skip_init
from placcel.accelerators.accelerator import Accelerator
from placcel.collectives import SingleProcessCollectives, TorchCollectives
from placcel.environments.cluster_environment import ClusterEnvironment
from placcel.launchers.launcher import Launcher
from placcel.precision.precision import Precision
from placcel.strategies.step import StepFunctions, step_functions_of

__all__ = ["Strategy"]


class Strategy(ABC):
    """Base class of SingleDeviceStrategy, DDPStrategy and FSDPStrategy.

    Args:
        accelerator: the hardware back-end (filled in by ``build_strategy`` when None).
        checkpoint_io: writes, reads and removes checkpoint files (given by plkit).
        precision: the precision (``Precision()``, i.e. ``"32-true"``, when None).

    Attributes:
        steps_through_forward: whether a training step must be the forward of the module given
            to :meth:`setup_module` (DDP: its gradient bookkeeping runs in ``forward``), so a
            trainer wraps its step in a module; otherwise the trainer sets up the model itself
            and names its step methods to :meth:`setup_step_methods`.
    """

    steps_through_forward = False

    def __init__(
        self,
        accelerator: Accelerator | None = None,
        checkpoint_io: Any = None,
        precision: Precision | None = None,
    ) -> None:
        self.accelerator = accelerator
        self.checkpoint_io = checkpoint_io
        self._precision = precision
        self.cluster_environment: ClusterEnvironment | None = None
        self.launcher: Launcher | None = None
        self.collectives: TorchCollectives | SingleProcessCollectives = SingleProcessCollectives()

    # -- what the strategy runs on ---------------------------------------------------------

    @property
    def precision(self) -> Precision:
        """The precision; ``"32-true"`` unless one was given."""
        if self._precision is None:
            self._precision = Precision()
        return self._precision

    @precision.setter
    def precision(self, precision: Precision | None) -> None:
        if precision is not None and not isinstance(precision, Precision):
            raise TypeError(
                f"precision={precision!r} is not a Precision; pass e.g. MixedPrecision('bf16-mixed', "
                "'cpu') or use build_strategy(precision='bf16-mixed')."
            )
        self._precision = precision

    @property
    @abstractmethod
    def root_device(self) -> torch.device:
        """The device of this process."""

    @property
    @abstractmethod
    def parallel_devices(self) -> list[torch.device]:
        """One device per local process."""

    @property
    def num_processes(self) -> int:
        """Processes per node (the number of parallel devices)."""
        return len(self.parallel_devices)

    @property
    def num_nodes(self) -> int:
        """The number of nodes (1 for a single device)."""
        return 1

    @property
    def world_size(self) -> int:
        """The number of processes in the job."""
        return 1

    @property
    def global_rank(self) -> int:
        """This process's rank in the job."""
        return 0

    @property
    def local_rank(self) -> int:
        """This process's rank on its node."""
        return 0

    @property
    def node_rank(self) -> int:
        """This process's node."""
        return 0

    @property
    def is_global_zero(self) -> bool:
        """Whether this is global rank 0 (the one that writes files)."""
        return self.global_rank == 0

    @property
    def distributed_sampler_kwargs(self) -> dict[str, int] | None:
        """``DistributedSampler`` arguments for this process; None when not distributed."""
        return None

    # -- setup -------------------------------------------------------------------------------

    def setup_environment(self) -> None:
        """Prepare this process: select its device (and, in subclasses, join the group)."""
        self._require_accelerator().setup_device(self.root_device)

    def setup_module(self, module: nn.Module) -> nn.Module:
        """Convert ``module`` to the precision and move it to :attr:`root_device`.

        Args:
            module: the model; converted and moved in place.
        """
        module = self.precision.convert_module(module)
        self.module_to_device(module)
        return module

    def setup_step_methods(self, module: nn.Module, names: Sequence[str]) -> None:
        """Make the named methods of the set-up ``module`` run as its ``forward`` would for this
        strategy (nothing to do here; FSDP gathers the parameters around each call).

        Args:
            module: what :meth:`setup_module` returned.
            names: method names, e.g. ``("training_step", "validation_step")``; missing ones
                are skipped.
        """
        return None

    def tensor_init_context(self, empty_init: bool | None = None) -> AbstractContextManager[Any]:
        """Where modules built inside it are created: on :attr:`root_device`, and with
        ``empty_init=True`` without running their initialisation (the weights are loaded
        afterwards), as ``Trainer.init_module`` does.

        Args:
            empty_init: skip the parameters' initialisation.
        """
        return _init_context(self.root_device, bool(empty_init))

    def unwrap_module(self, module: nn.Module) -> nn.Module:
        """Return the user's module from inside DDP or ``torch.compile`` wrappers.

        Args:
            module: what :meth:`setup_module` returned (or the module itself).
        """
        while True:
            if isinstance(module, nn.parallel.DistributedDataParallel):
                module = module.module
            elif hasattr(module, "_orig_mod") and isinstance(module._orig_mod, nn.Module):
                module = module._orig_mod
            else:
                return module

    def module_to_device(self, module: nn.Module) -> None:
        """Move ``module``'s parameters and buffers to :attr:`root_device`.

        Args:
            module: the module to move in place.
        """
        module.to(self.root_device)

    def batch_to_device(self, batch: Any, device: torch.device | None = None) -> Any:
        """Move the tensors of ``batch`` (nested in tuples, lists, dicts, dataclasses …).

        For ``"64-true"`` and the true half precisions the floating tensors are also cast to
        the precision's dtype (``precision.convert_input``), as the model's weights are.

        Args:
            batch: the batch from the dataloader.
            device: the target; :attr:`root_device` when None.
        """
        batch = move_data_to_device(batch, device if device is not None else self.root_device)
        if self.precision.converts_input:
            batch = self.precision.convert_input(batch)
        return batch

    # -- the training step ---------------------------------------------------------------------

    def forward_context(self) -> AbstractContextManager[Any]:
        """The precision's forward context (autocast for mixed precision)."""
        return self.precision.forward_context()

    def backward(self, tensor: torch.Tensor, backward_fn: Callable[..., None], *args: Any) -> None:
        """Let the precision scale ``tensor``, then call ``backward_fn(tensor, *args)``.

        Args:
            tensor: the loss.
            backward_fn: what calls ``backward`` (the module's ``backward`` hook).
            *args: passed on to ``backward_fn``.
        """
        self.precision.backward(tensor, backward_fn, *args)

    def optimizer_step(
        self,
        optimizer: torch.optim.Optimizer,
        closure: Callable[[], Any],
        after_closure: Callable[[], None],
    ) -> Any:
        """Step ``optimizer`` as the precision decides; ``after_closure`` sees unscaled grads.

        Args:
            optimizer: the optimizer to step.
            closure: forward + backward; returns the loss, or None to skip the step.
            after_closure: runs after backward, before the update (hooks, clipping).
        """
        return self.precision.optimizer_step(optimizer, closure, after_closure)

    def step_functions(self) -> StepFunctions:
        """Backward and the optimizer step as a training loop should call them, specialised
        once: torch's own calls when neither this strategy nor its precision adds anything
        (see :mod:`placcel.strategies.step`). Ask again after changing the precision."""
        return step_functions_of(self)

    def no_backward_sync(self, module: nn.Module, enabled: bool) -> AbstractContextManager[Any]:
        """A context that skips gradient synchronisation (nothing to skip in one process).

        Args:
            module: what :meth:`setup_module` returned.
            enabled: whether to skip synchronisation (during gradient accumulation).
        """
        return nullcontext()

    # -- collectives ---------------------------------------------------------------------------

    def reduce(self, tensor: Any, reduce_op: Any = "mean") -> Any:
        """Reduce a tensor over all processes (other values are returned as they are).

        Args:
            tensor: the value to reduce.
            reduce_op: ``"mean"``, ``"sum"``, ``"max"``, ``"min"`` or a ``dist.ReduceOp``.
        """
        if not isinstance(tensor, torch.Tensor):
            return tensor
        return self.collectives.reduce(tensor, reduce_op)

    def all_gather(self, tensor: torch.Tensor, sync_grads: bool = False) -> torch.Tensor:
        """Stack ``tensor`` from every process (returned unchanged in one process).

        Args:
            tensor: the value to gather.
            sync_grads: let gradients flow back through the gather.
        """
        return self.collectives.all_gather(tensor, sync_grads=sync_grads)

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        """Send ``obj`` from rank ``src`` to every rank.

        Args:
            obj: a picklable object.
            src: the sending rank.
        """
        return self.collectives.broadcast(obj, src=src)

    def barrier(self, name: str | None = None) -> None:
        """Wait for every process.

        Args:
            name: a label for debugging.
        """
        self.collectives.barrier(name)

    def reduce_boolean_decision(self, decision: bool, all: bool = True) -> bool:
        """Combine a per-process decision: True if all (``all=True``) or any process says so.

        Args:
            decision: this process's decision.
            all: require every process to agree (else any one suffices).
        """
        if self.world_size == 1:
            return bool(decision)
        votes = torch.tensor(int(bool(decision)), device=self.root_device)
        total = int(self.collectives.reduce(votes, "sum").item())
        return total == self.world_size if all else total > 0

    # -- checkpoints and state -----------------------------------------------------------------

    def save_checkpoint(self, checkpoint: dict[str, Any], filepath: str) -> None:
        """Write ``checkpoint`` to ``filepath`` through ``checkpoint_io``, on global rank 0 only.

        Args:
            checkpoint: the checkpoint dict (layout decided by plcore).
            filepath: where to write it.
        """
        if self.is_global_zero:
            self._require_checkpoint_io().save_checkpoint(checkpoint, filepath)

    def load_checkpoint(
        self, filepath: str, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        """Read a checkpoint through ``checkpoint_io`` (every rank reads).

        Args:
            filepath: the file to read.
            map_location: passed to ``checkpoint_io.load_checkpoint``.
            weights_only: passed on when given (None: the checkpoint IO's default).
        """
        io = self._require_checkpoint_io()
        if weights_only is None:
            return io.load_checkpoint(filepath, map_location=map_location)
        return io.load_checkpoint(filepath, map_location=map_location, weights_only=weights_only)

    def remove_checkpoint(self, filepath: str) -> None:
        """Delete a checkpoint file, on global rank 0 only.

        Args:
            filepath: the file to delete.
        """
        if self.is_global_zero:
            self._require_checkpoint_io().remove_checkpoint(filepath)

    def module_state_dict(self, module: nn.Module) -> dict[str, Any]:
        """The weights of ``module`` for a checkpoint (``module.state_dict()``; under FSDP the
        full weights gathered on rank 0, or this rank's shards).

        Args:
            module: the user's module (set up by :meth:`setup_module`).
        """
        return module.state_dict()

    def load_module_state_dict(
        self, module: nn.Module, state_dict: Mapping[str, Any], strict: bool = True
    ) -> Any:
        """Load a checkpoint's weights into ``module``; returns ``load_state_dict``'s result.

        Args:
            module: the user's module (set up by :meth:`setup_module`).
            state_dict: what :meth:`module_state_dict` gave (full or sharded).
            strict: whether the keys must match exactly.
        """
        return module.load_state_dict(state_dict, strict=strict)

    def optimizer_state(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """``optimizer.state_dict()`` for a checkpoint (gathered or sharded under FSDP).

        Args:
            optimizer: an optimizer of the set-up module's parameters.
        """
        return optimizer.state_dict()

    def load_optimizer_state(self, optimizer: torch.optim.Optimizer, state: Any) -> None:
        """Load what :meth:`optimizer_state` gave (or a checkpoint's entry for it).

        Args:
            optimizer: the optimizer to restore.
            state: its saved state.
        """
        optimizer.load_state_dict(state)

    def precision_state_dict(self) -> dict[str, Any]:
        """The precision's state for a checkpoint (the GradScaler's, for ``"16-mixed"``)."""
        return self.precision.state_dict()

    def load_precision_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the precision's state from a checkpoint.

        Args:
            state_dict: what :meth:`precision_state_dict` returned.
        """
        self.precision.load_state_dict(state_dict)

    def teardown(self) -> None:
        """Release what :meth:`setup_environment` acquired; let the checkpoint IO finish (an
        asynchronous one waits for its writes and raises an error one of them had)."""
        self.precision.teardown()
        if self.accelerator is not None:
            self.accelerator.teardown()
        finish = getattr(self.checkpoint_io, "teardown", None)
        if callable(finish):
            finish()

    # -- helpers -------------------------------------------------------------------------------

    def _set_local_rank(self, local_rank: int) -> None:
        """Record this process's local rank (used by spawn launchers); no-op by default."""
        return None

    def _configure(self) -> None:
        """Derive ranks and the launcher once the parts are set (called by build_strategy)."""
        return None

    def _require_accelerator(self) -> Accelerator:
        if self.accelerator is None:
            raise RuntimeError(
                f"{type(self).__name__} has no accelerator; pass accelerator=CPUAccelerator() (or "
                "another) or build it with placcel.build_strategy()."
            )
        return self.accelerator

    def _require_checkpoint_io(self) -> Any:
        if self.checkpoint_io is None:
            raise RuntimeError(
                f"{type(self).__name__}.checkpoint_io is not set, so checkpoints cannot be read or "
                "written; pass checkpoint_io=<object with save_checkpoint/load_checkpoint/"
                "remove_checkpoint> to build_strategy() or the strategy."
            )
        return self.checkpoint_io

    def __repr__(self) -> str:
        try:
            devices: Any = [str(device) for device in self.parallel_devices]
        except RuntimeError:  # not configured yet; a repr must not raise
            devices = None
        return (
            f"{type(self).__name__}(accelerator={self.accelerator!r}, precision={self.precision!r}, "
            f"devices={devices})"
        )


@contextmanager
def _init_context(device: torch.device, empty_init: bool) -> Iterator[None]:
    with device, skip_init(empty_init):
        yield
