"""``lightning.pytorch.callbacks.progress.tqdm_progress``'s names (pllog's classes)."""

from pllog.progress.tqdm import TQDMProgressBar

__all__ = ["TQDMProgressBar"]
