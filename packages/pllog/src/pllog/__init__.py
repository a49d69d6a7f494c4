"""pllog: experiment loggers (TensorBoard, CSV) and progress bars for plkit.

``import pllog`` loads neither tensorboard nor tqdm; each is imported when first used.

    from pllog import CSVLogger, TensorBoardLogger, TQDMProgressBar
"""

from pllog.__about__ import __version__
from pllog.csv import CSVLogger
from pllog.logger import DummyLogger, Logger, rank_zero_experiment
from pllog.progress import ProgressBar, RichProgressBar, RichProgressBarTheme, TQDMProgressBar
from pllog.tensorboard import TensorBoardLogger

__all__ = [
    "CSVLogger",
    "DummyLogger",
    "Logger",
    "ProgressBar",
    "RichProgressBar",
    "RichProgressBarTheme",
    "TQDMProgressBar",
    "TensorBoardLogger",
    "__version__",
    "rank_zero_experiment",
]
