"""Profilers (Lightning 2.x names): how long each hook, step and loop stage takes.

::

    from plkit.profilers import SimpleProfiler

    trainer = Trainer(profiler=SimpleProfiler(dirpath=".", filename="perf"))
    trainer.fit(model)          # writes ./fit-perf.txt: one row per action

``Trainer(profiler="simple" | "advanced" | "pytorch")`` builds one with its defaults (the report
then goes to the log). With no profiler the Trainer holds a :class:`PassThroughProfiler` and the
loops time nothing.
"""

from plkit.profilers.advanced import AdvancedProfiler
from plkit.profilers.base import PassThroughProfiler
from plkit.profilers.profiler import Profiler
from plkit.profilers.pytorch import PyTorchProfiler
from plkit.profilers.simple import SimpleProfiler

__all__ = [
    "AdvancedProfiler",
    "PassThroughProfiler",
    "Profiler",
    "PyTorchProfiler",
    "SimpleProfiler",
]
