"""``AdvancedProfiler``: a ``cProfile`` profile per action, reported with ``pstats``."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from plcore.utilities import cloud_io
from plkit.profilers.profiler import Profiler

__all__ = ["AdvancedProfiler"]


class AdvancedProfiler(Profiler):
    """Python's ``cProfile`` per action: which functions each action spent its time in (a long
    report; the table is sorted by cumulative time).

    Args:
        dirpath: the folder of ``filename``; ``None`` uses the Trainer's ``log_dir``.
        filename: write the report to ``{stage}-{filename}.txt`` instead of the log.
        line_count_restriction: how many functions each action lists: a count (an int) or a
            fraction of them (a float between 0.0 and 1.0).
        dump_stats: also save each action's raw profile as ``{stage}-{filename}-{action}.prof``
            in ``dirpath`` (open it with ``pstats`` or snakeviz).

    Raises:
        ValueError: an action is stopped that was never started.
    """

    def __init__(
        self,
        dirpath: str | Path | None = None,
        filename: str | None = None,
        line_count_restriction: float = 1.0,
        dump_stats: bool = False,
    ) -> None:
        super().__init__(dirpath=dirpath, filename=filename)
        self.profiled_actions: dict[str, cProfile.Profile] = defaultdict(cProfile.Profile)
        self.line_count_restriction = line_count_restriction
        self.dump_stats = dump_stats

    def start(self, action_name: str) -> None:
        # one profile runs at a time: an action inside another is counted in the inner one only
        for profile in self.profiled_actions.values():
            profile.disable()
        self.profiled_actions[action_name].enable()

    def stop(self, action_name: str) -> None:
        profile = self.profiled_actions.get(action_name)
        if profile is None:
            raise ValueError(
                f"Attempting to stop recording an action ({action_name}) which was never started."
            )
        profile.disable()

    def _dump_stats(self, action_name: str, profile: cProfile.Profile) -> None:
        if not self.dirpath:
            raise ValueError(
                "AdvancedProfiler(dump_stats=True) needs a folder: pass dirpath=..., or run it "
                "under a Trainer (which uses its log_dir)."
            )
        folder = cloud_io.check_path(self.dirpath, "AdvancedProfiler(dirpath=...)")
        cloud_io.makedirs(folder)
        path = os.path.join(
            folder, self._prepare_filename(action_name=action_name, extension=".prof")
        )
        if not cloud_io.is_remote(path):
            profile.dump_stats(path)
            return
        with tempfile.TemporaryDirectory() as tmp:  # pstats writes local files only
            local = os.path.join(tmp, "stats.prof")
            profile.dump_stats(local)
            with open(local, "rb") as file:
                cloud_io.write_bytes(path, file.read())

    def summary(self) -> str:
        stats = {}
        for action_name, profile in self.profiled_actions.items():
            if self.dump_stats:
                self._dump_stats(action_name, profile)
            out = io.StringIO()
            report = pstats.Stats(profile, stream=out).strip_dirs().sort_stats("cumulative")
            report.print_stats(self.line_count_restriction)
            stats[action_name] = out.getvalue()
        return self._stats_to_str(stats)

    def teardown(self, stage: str | None) -> None:
        super().teardown(stage=stage)
        self.profiled_actions.clear()

    def __reduce__(self) -> tuple[Any, ...]:
        # a cProfile.Profile cannot be pickled (spawned processes get a fresh profiler)
        state = {
            "dirpath": self.dirpath,
            "filename": self.filename,
            "line_count_restriction": self.line_count_restriction,
        }
        return (self.__class__, (), state)
