"""``CometLogger`` (from ``pllog.comet``), at Lightning's ``loggers.comet`` path."""

from pllog.comet import CometLogger

__all__ = ["CometLogger"]
