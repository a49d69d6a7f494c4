"""Progress-bar callbacks: the :class:`ProgressBar` base, the default :class:`TQDMProgressBar`
and :class:`RichProgressBar` (rich, imported when the bar is built)."""

from typing import TYPE_CHECKING

from plcore.utilities.lazy import lazy_exports

if TYPE_CHECKING:
    from pllog.progress.base import ProgressBar
    from pllog.progress.rich import RichProgressBar, RichProgressBarTheme
    from pllog.progress.tqdm import TQDMProgressBar

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ProgressBar": "pllog.progress.base",
        "RichProgressBar": "pllog.progress.rich",
        "RichProgressBarTheme": "pllog.progress.rich",
        "TQDMProgressBar": "pllog.progress.tqdm",
    },
)

__all__ = ["ProgressBar", "RichProgressBar", "RichProgressBarTheme", "TQDMProgressBar"]
