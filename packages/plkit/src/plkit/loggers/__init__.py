"""Loggers (from pllog): ``TensorBoardLogger``, ``CSVLogger``, ``MLFlowLogger``, ``WandbLogger``
and the ``Logger`` base class."""

from pllog import CSVLogger, Logger, MLFlowLogger, TensorBoardLogger, WandbLogger

__all__ = ["CSVLogger", "Logger", "MLFlowLogger", "TensorBoardLogger", "WandbLogger"]
