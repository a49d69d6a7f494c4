"""The narrow interfaces between plcore and the rest of plkit.

plcore never imports its siblings. What plcore needs from the runtime is written down here as a
``typing.Protocol`` that the other packages satisfy structurally (no inheritance):

- :class:`TrainerLink` is everything plcore (a LightningModule's properties and methods) reads
  of the Trainer it is attached to; plkit's Trainer satisfies it (a test checks).
- :class:`LoggerProtocol` is what the Trainer and ``self.log`` need of an experiment logger
  (pllog's ``Logger`` implements it).
- :class:`CheckpointIOProtocol` is what writes, reads and removes checkpoint files
  (``TorchCheckpointIO``, or a user's ``CheckpointIO`` plugin).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from plcore.optimizer import LightningOptimizer

__all__ = ["CheckpointIOProtocol", "LoggerProtocol", "TrainerLink"]


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


@runtime_checkable
class TrainerLink(Protocol):
    """What plcore reads of the Trainer a LightningModule is attached to (``module.trainer``).

    Lightning's names, plus the two through which the module's optimizers and
    ``manual_backward`` reach the Trainer's loop: ``lightning_optimizers`` (what
    ``self.optimizers()`` returns) and ``manual_backward(loss, *args, **kwargs)``.
    """

    @property
    def current_epoch(self) -> int: ...

    @property
    def global_step(self) -> int: ...

    @property
    def global_rank(self) -> int: ...

    @property
    def local_rank(self) -> int: ...

    @property
    def logger(self) -> LoggerProtocol | None: ...

    @property
    def loggers(self) -> Sequence[LoggerProtocol]: ...

    @property
    def callback_metrics(self) -> Mapping[str, torch.Tensor]: ...

    @property
    def strategy(self) -> Any: ...

    @property
    def optimizers(self) -> list[torch.optim.Optimizer]: ...

    @property
    def lightning_optimizers(self) -> list[LightningOptimizer]: ...

    @property
    def lr_scheduler_configs(self) -> list[Any]: ...

    def manual_backward(self, loss: torch.Tensor, *args: Any, **kwargs: Any) -> None: ...
