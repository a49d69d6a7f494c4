"""Loggers (from pllog): ``TensorBoardLogger``, ``CSVLogger``, ``MLFlowLogger``, ``WandbLogger``,
``CometLogger`` and the ``Logger`` base class."""

from typing import TYPE_CHECKING

from plcore.utilities.lazy import lazy_exports
from pllog import Logger

if TYPE_CHECKING:
    from pllog import CometLogger, CSVLogger, MLFlowLogger, TensorBoardLogger, WandbLogger

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CSVLogger": "pllog.csv",
        "CometLogger": "pllog.comet",
        "MLFlowLogger": "pllog.mlflow",
        "TensorBoardLogger": "pllog.tensorboard",
        "WandbLogger": "pllog.wandb",
    },
)

__all__ = ["CSVLogger", "CometLogger", "Logger", "MLFlowLogger", "TensorBoardLogger", "WandbLogger"]
