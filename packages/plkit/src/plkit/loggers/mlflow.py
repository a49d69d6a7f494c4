"""``MLFlowLogger`` (from ``pllog.mlflow``), at Lightning's ``loggers.mlflow`` path."""

from pllog.mlflow import MLFlowLogger

__all__ = ["MLFlowLogger"]
