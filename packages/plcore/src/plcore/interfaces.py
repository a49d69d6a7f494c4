"""The narrow interfaces between plcore and the rest of plkit.

plcore never imports its siblings. What a module, a callback or plcore's own bookkeeping needs from
the runtime is written down here as a ``typing.Protocol``; placcel, pllog and plkit satisfy these
structurally (no inheritance, no import of plcore needed in placcel).

- :class:`Collectives` is what a strategy offers for cross-process work. A single process uses
  :class:`SingleProcessCollectives`, a null object, so callers never branch on "am I distributed".
- :class:`LoggerProtocol` is what the Trainer and ``self.log`` need of an experiment logger.
- :class:`TrainerView` is what a LightningModule or a Callback may read of the Trainer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch

__all__ = [
    "CheckpointIOProtocol",
    "Collectives",
    "LoggerProtocol",
    "SingleProcessCollectives",
    "TrainerView",
]


@runtime_checkable
class Collectives(Protocol):
    """Cross-process operations a strategy provides (all ranks must call them together)."""

    @property
    def world_size(self) -> int: ...

    @property
    def global_rank(self) -> int: ...

    def reduce(self, tensor: torch.Tensor, reduce_op: str = "mean") -> torch.Tensor:
        """Reduce ``tensor`` over all processes with ``"mean"``, ``"sum"``, ``"max"`` or ``"min"``."""
        ...

    def all_gather(self, tensor: torch.Tensor, sync_grads: bool = False) -> torch.Tensor:
        """Stack ``tensor`` from every process along a new first dimension (none for one process)."""
        ...

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        """Send a picklable object from rank ``src`` to all ranks and return it."""
        ...

    def barrier(self, name: str | None = None) -> None:
        """Wait until every process reaches this point."""
        ...


class SingleProcessCollectives:
    """The null object for one process: every collective returns its input unchanged."""

    world_size = 1
    global_rank = 0

    def reduce(self, tensor: torch.Tensor, reduce_op: str = "mean") -> torch.Tensor:
        return tensor

    def all_gather(self, tensor: torch.Tensor, sync_grads: bool = False) -> torch.Tensor:
        return tensor  # as in Lightning: with one process no leading dimension is added

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        return obj

    def barrier(self, name: str | None = None) -> None:
        return None


@runtime_checkable
class LoggerProtocol(Protocol):
    """What the Trainer calls on an experiment logger (pllog's ``Logger`` implements it)."""

    @property
    def name(self) -> str | None: ...

    @property
    def version(self) -> int | str | None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...

    def log_hyperparams(
        self, params: Mapping[str, Any] | Any, *args: Any, **kwargs: Any
    ) -> None: ...


@runtime_checkable
class CheckpointIOProtocol(Protocol):
    """How checkpoint bytes reach the disk (placcel's ``CheckpointIO`` implements it)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str) -> None: ...

    def load_checkpoint(self, path: str, map_location: Any = None) -> dict[str, Any]: ...

    def remove_checkpoint(self, path: str) -> None: ...


class TrainerView(Protocol):
    """The part of the Trainer a LightningModule or Callback reads (names as in Lightning 2.x)."""

    current_epoch: int
    global_step: int
    should_stop: bool
    sanity_checking: bool
    training: bool
    validating: bool
    testing: bool
    predicting: bool
    is_global_zero: bool
    world_size: int
    global_rank: int
    local_rank: int
    node_rank: int
    log_every_n_steps: int
    callback_metrics: dict[str, torch.Tensor]
    logged_metrics: dict[str, torch.Tensor]
    progress_bar_metrics: dict[str, float]

    @property
    def loggers(self) -> Sequence[LoggerProtocol]: ...

    @property
    def logger(self) -> LoggerProtocol | None: ...

    @property
    def strategy(self) -> Any: ...

    @property
    def optimizers(self) -> list[torch.optim.Optimizer]: ...

    @property
    def lr_scheduler_configs(self) -> list[Any]: ...

    @property
    def log_dir(self) -> str | None: ...

    def save_checkpoint(self, filepath: str, weights_only: bool = False) -> None: ...
