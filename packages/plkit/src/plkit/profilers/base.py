"""The profiler that times nothing: what ``trainer.profiler`` is without ``Trainer(profiler=...)``."""

from __future__ import annotations

from plkit.profilers.profiler import Profiler

__all__ = ["PassThroughProfiler"]


class PassThroughProfiler(Profiler):
    """Records nothing. With it the Trainer takes its unprofiled paths: the loops do not even
    call it."""

    def start(self, action_name: str) -> None:
        pass

    def stop(self, action_name: str) -> None:
        pass
