"""Loggers (from pllog): ``TensorBoardLogger``, ``CSVLogger`` and the ``Logger`` base class."""

from pllog import CSVLogger, Logger, TensorBoardLogger

__all__ = ["CSVLogger", "Logger", "TensorBoardLogger"]
