"""Loggers (from pllog): ``TensorBoardLogger``, ``CSVLogger``, ``MLFlowLogger``, ``WandbLogger``,
``CometLogger`` and the ``Logger`` base class."""

from pllog import CometLogger, CSVLogger, Logger, MLFlowLogger, TensorBoardLogger, WandbLogger

__all__ = ["CSVLogger", "CometLogger", "Logger", "MLFlowLogger", "TensorBoardLogger", "WandbLogger"]
