"""``lightning.pytorch.callbacks.progress``'s names: the progress bars (pllog's classes)."""

from pllog import ProgressBar, RichProgressBar, TQDMProgressBar

__all__ = ["ProgressBar", "RichProgressBar", "TQDMProgressBar"]
