"""The ``Profiler`` base class: actions started and stopped by name, a report at the end.

The Trainer calls :meth:`Profiler.setup` when a run starts (stage, local rank, log folder),
wraps each hook, step and loop stage in :meth:`Profiler.profile`, and calls
:meth:`Profiler.describe` after the teardown hooks: the report goes to
``{dirpath}/{stage}-{filename}.txt`` when a ``filename`` is given, else to the log.
"""

from __future__ import annotations

import logging
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from plcore.utilities import cloud_io

__all__ = ["Profiler"]

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[\\/:*?\"<>|\n\r\t]")


class Profiler(ABC):
    """Subclass it (``start`` and ``stop``, optionally ``summary``) to write your own profiler.

    Args:
        dirpath: the folder of ``filename``; ``None`` uses the Trainer's ``log_dir``.
        filename: write the report to ``{stage}-{filename}.txt`` (``-{rank}`` with several
            processes) instead of the log.
    """

    def __init__(self, dirpath: str | Path | None = None, filename: str | None = None) -> None:
        self.dirpath = dirpath
        self.filename = filename
        self._output_file: TextIO | None = None
        self._write_stream: Callable[[str], Any] | None = None
        self._local_rank: int | None = None
        self._stage: str | None = None

    @abstractmethod
    def start(self, action_name: str) -> None:
        """Begin timing ``action_name``."""

    @abstractmethod
    def stop(self, action_name: str) -> None:
        """End timing ``action_name``."""

    def summary(self) -> str:
        """The report text (empty: nothing is written)."""
        return ""

    @contextmanager
    def profile(self, action_name: str) -> Iterator[str]:
        """Time the block: ``with profiler.profile("load data"): ...``."""
        try:
            self.start(action_name)
            yield action_name
        finally:
            self.stop(action_name)

    def _rank_zero_info(self, *args: Any, **kwargs: Any) -> None:
        if self._local_rank in (None, 0):
            log.info(*args, **kwargs)

    def _prepare_filename(self, action_name: str | None = None, extension: str = ".txt") -> str:
        """``{stage}-{filename}-{rank}-{action}{extension}``, with the parts that are set."""
        parts = [self._stage, self.filename or None, self._local_rank, action_name]
        base = "-".join(p if isinstance(p, str) else str(p) for p in parts if p is not None)
        base = re.sub(r"_+", "_", _UNSAFE.sub("_", base)).strip()
        return (base or "profile") + extension

    def _prepare_streams(self) -> None:
        if self._write_stream is not None:
            return
        if self.filename and self.dirpath:
            folder = cloud_io.check_path(self.dirpath, f"{type(self).__name__}(dirpath=...)")
            cloud_io.makedirs(folder)
            path = os.path.join(folder, self._prepare_filename())
            if cloud_io.is_remote(path):  # an object store: each report added to the object
                self._write_stream = partial(cloud_io.append_text, path)
                return
            file = open(path, "a")  # noqa: SIM115
            self._output_file = file
            self._write_stream = file.write
        else:
            self._write_stream = self._rank_zero_info

    def describe(self) -> None:
        """Write the report (the Trainer calls it after the teardown hooks; callable directly
        when the profiler is used on its own), then close the file."""
        self._prepare_streams()
        summary = self.summary()
        if summary and self._write_stream is not None:
            self._write_stream(summary)
        if self._output_file is not None:
            self._output_file.flush()
        self.teardown(stage=self._stage)

    def _stats_to_str(self, stats: dict[str, str]) -> str:
        """A report of one block of text per action, under the stage's title."""
        title = f"{self._stage.upper()} " if self._stage is not None else ""
        lines = [title + "Profiler Report"]
        rank = f" rank: {self._local_rank}" if self._local_rank is not None else ""
        for action, text in stats.items():
            lines += [f"Profile stats for: {action}{rank}", text]
        return os.linesep.join(lines)

    def setup(self, stage: str, local_rank: int | None = None, log_dir: str | None = None) -> None:
        """Before a run: its stage (``"fit"``...), the local rank (None: one process) and the
        folder used when ``dirpath`` is unset."""
        self._stage = stage
        self._local_rank = local_rank
        self.dirpath = self.dirpath or log_dir

    def teardown(self, stage: str | None) -> None:
        """After a run: close the report file."""
        self._write_stream = None
        if self._output_file is not None:
            self._output_file.close()
            self._output_file = None

    def __del__(self) -> None:
        self.teardown(stage=self._stage)

    @property
    def local_rank(self) -> int:
        return 0 if self._local_rank is None else self._local_rank
