"""Progress-bar callbacks: the :class:`ProgressBar` base, the default :class:`TQDMProgressBar`
and :class:`RichProgressBar` (rich, imported when the bar is built)."""

from pllog.progress.base import ProgressBar
from pllog.progress.rich import RichProgressBar, RichProgressBarTheme
from pllog.progress.tqdm import TQDMProgressBar

__all__ = ["ProgressBar", "RichProgressBar", "RichProgressBarTheme", "TQDMProgressBar"]
