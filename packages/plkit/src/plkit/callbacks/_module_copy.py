"""A deep copy of a LightningModule that leaves its Trainer out (as Lightning's pickling does),
for the callbacks that keep an averaged copy of the model."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

__all__ = ["copy_without_trainer"]


def copy_without_trainer(module: Any) -> Any:
    """``deepcopy(module)`` with its ``trainer`` (if attached) copied as None, so that the copy
    does not drag along the Trainer, its loggers, loaders and callbacks."""
    try:
        trainer = module.trainer
    except (AttributeError, RuntimeError):  # no trainer attached
        return deepcopy(module)
    return deepcopy(module, {id(trainer): None})
