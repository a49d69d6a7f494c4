"""Progress-bar callbacks: the :class:`ProgressBar` base and the default :class:`TQDMProgressBar`."""

from pllog.progress.base import ProgressBar
from pllog.progress.tqdm import TQDMProgressBar

__all__ = ["ProgressBar", "TQDMProgressBar"]
