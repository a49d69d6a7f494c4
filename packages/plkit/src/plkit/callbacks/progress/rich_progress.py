"""``lightning.pytorch.callbacks.progress.rich_progress``'s names (pllog's classes)."""

from pllog.progress.rich import RichProgressBar, RichProgressBarTheme

__all__ = ["RichProgressBar", "RichProgressBarTheme"]
