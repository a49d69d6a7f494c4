"""pllog: experiment loggers (TensorBoard, CSV, MLflow, W&B, Comet) and progress bars for plkit.

``import pllog`` loads neither tensorboard, tqdm, mlflow, wandb nor comet_ml; each is imported
when first used (``pip install 'pllog[mlflow]'`` / ``'pllog[wandb]'`` / ``'pllog[comet]'`` for
the optional three).

    from pllog import CSVLogger, TensorBoardLogger, TQDMProgressBar
"""

from typing import TYPE_CHECKING

from plcore.utilities.lazy import lazy_exports
from pllog.__about__ import __version__
from pllog.logger import DummyLogger, Logger, rank_zero_experiment

if TYPE_CHECKING:
    from pllog.comet import CometLogger
    from pllog.csv import CSVLogger
    from pllog.mlflow import MLFlowLogger
    from pllog.progress import ProgressBar, RichProgressBar, RichProgressBarTheme, TQDMProgressBar
    from pllog.tensorboard import TensorBoardLogger
    from pllog.wandb import WandbLogger

# The loggers and bars load when first named (``pllog.CSVLogger``, ``from pllog import ...``).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CSVLogger": "pllog.csv",
        "CometLogger": "pllog.comet",
        "MLFlowLogger": "pllog.mlflow",
        "ProgressBar": "pllog.progress.base",
        "RichProgressBar": "pllog.progress.rich",
        "RichProgressBarTheme": "pllog.progress.rich",
        "TQDMProgressBar": "pllog.progress.tqdm",
        "TensorBoardLogger": "pllog.tensorboard",
        "WandbLogger": "pllog.wandb",
    },
)

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
