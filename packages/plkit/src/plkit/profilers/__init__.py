"""Profilers (Lightning 2.x names): how long each hook, step and loop stage takes.

::

    from plkit.profilers import SimpleProfiler

    trainer = Trainer(profiler=SimpleProfiler(dirpath=".", filename="perf"))
    trainer.fit(model)          # writes ./fit-perf.txt: one row per action

``Trainer(profiler="simple" | "advanced" | "pytorch")`` builds one with its defaults (the report
then goes to the log). With no profiler the Trainer holds a :class:`PassThroughProfiler` and the
loops time nothing. ``AdvancedProfiler`` (cProfile, pstats) and ``PyTorchProfiler`` are
imported when first named, so ``import plkit`` does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from plkit.profilers.base import PassThroughProfiler
from plkit.profilers.profiler import Profiler
from plkit.profilers.simple import SimpleProfiler

if TYPE_CHECKING:
    from plkit.profilers.advanced import AdvancedProfiler
    from plkit.profilers.pytorch import PyTorchProfiler

_LAZY = {"AdvancedProfiler": "advanced", "PyTorchProfiler": "pytorch"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"plkit.profilers.{_LAZY[name]}"), name)
    if name == "XLAProfiler":  # Lightning's TPU profiler: a clear error instead of "no name"
        raise ImportError(
            "XLAProfiler profiles TPUs through torch_xla, which plkit does not support; use "
            "SimpleProfiler, AdvancedProfiler or PyTorchProfiler."
        )
    raise AttributeError(f"module 'plkit.profilers' has no attribute {name!r}")


__all__ = [
    "AdvancedProfiler",
    "PassThroughProfiler",
    "Profiler",
    "PyTorchProfiler",
    "SimpleProfiler",
]
