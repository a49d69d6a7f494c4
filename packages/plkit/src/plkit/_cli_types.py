"""The scheduler class and type aliases of ``plkit.cli`` that need no jsonargparse.

They live apart from the parser so that ``plkit.cli`` offers them (as Lightning's module does)
even where jsonargparse is not installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Union

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

__all__ = [
    "LRSchedulerCallable",
    "LRSchedulerType",
    "LRSchedulerTypeTuple",
    "LRSchedulerTypeUnion",
    "OptimizerCallable",
    "ReduceLROnPlateau",
    "register_instantiators",
]


class ReduceLROnPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
    """torch's ``ReduceLROnPlateau`` that also names the metric it follows.

    The CLI needs the name to build ``configure_optimizers``'s ``{"monitor": ...}``, so
    ``--lr_scheduler`` accepts this class and not torch's.

    Args:
        optimizer: the optimizer whose learning rate is reduced.
        monitor: the logged metric to watch (e.g. ``"val_loss"``).
        *args: torch's ``ReduceLROnPlateau`` arguments.
        **kwargs: torch's ``ReduceLROnPlateau`` arguments.
    """

    def __init__(self, optimizer: Optimizer, monitor: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(optimizer, *args, **kwargs)
        self.monitor = monitor


# Config files name the class by its public home, ``plkit.cli.ReduceLROnPlateau``.
ReduceLROnPlateau.__module__ = "plkit.cli"

LRSchedulerTypeTuple = (LRScheduler, ReduceLROnPlateau)
LRSchedulerTypeUnion = Union[LRScheduler, ReduceLROnPlateau]
LRSchedulerType = Union[type[LRScheduler], type[ReduceLROnPlateau]]
OptimizerCallable = Callable[[Iterable], Optimizer]
LRSchedulerCallable = Callable[[Optimizer], Union[LRScheduler, ReduceLROnPlateau]]


def _instantiate_module(class_type: type, config: dict[str, Any]) -> Any:
    from plkit.cli import (
        instantiate_module,  # imports jsonargparse: only when a checkpoint needs it
    )

    return instantiate_module(class_type, config)


def register_instantiators() -> None:
    """Let ``load_from_checkpoint`` rebuild modules that LightningCLI built, under plkit or
    Lightning (their checkpoints name ``<package>.cli.instantiate_module``)."""
    from plcore.checkpoint import register_instantiator

    for package in ("plkit", "pytorch_lightning", "lightning.pytorch"):
        register_instantiator(f"{package}.cli.instantiate_module", _instantiate_module)
