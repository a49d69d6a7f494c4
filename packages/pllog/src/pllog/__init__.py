"""pllog: experiment loggers (TensorBoard, CSV, MLflow, W&B, Comet) and progress bars for plkit.

``import pllog`` loads neither tensorboard, tqdm, mlflow, wandb nor comet_ml; each is imported
when first used (``pip install 'pllog[mlflow]'`` / ``'pllog[wandb]'`` / ``'pllog[comet]'`` for
the optional three).

    from pllog import CSVLogger, TensorBoardLogger, TQDMProgressBar
"""

from pllog.__about__ import __version__
from pllog.comet import CometLogger
from pllog.csv import CSVLogger
from pllog.logger import DummyLogger, Logger, rank_zero_experiment
from pllog.mlflow import MLFlowLogger
from pllog.progress import ProgressBar, RichProgressBar, RichProgressBarTheme, TQDMProgressBar
from pllog.tensorboard import TensorBoardLogger
from pllog.wandb import WandbLogger

__all__ = [
    "CSVLogger",
    "CometLogger",
    "DummyLogger",
    "Logger",
    "MLFlowLogger",
    "ProgressBar",
    "RichProgressBar",
    "RichProgressBarTheme",
    "TQDMProgressBar",
    "TensorBoardLogger",
    "WandbLogger",
    "__version__",
    "rank_zero_experiment",
]
