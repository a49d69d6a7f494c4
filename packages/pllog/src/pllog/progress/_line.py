"""A stand-in for a tqdm bar when the output is not a terminal (CI logs, files, pipes).

A tqdm bar redraws itself with carriage returns, which a log file keeps as one endless line.
``_LineBar`` offers the part of tqdm's interface the progress bar uses and prints whole lines
instead: one when a round ends (an epoch, a test run) and, during a long round, at most one every
``interval_s`` seconds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import IO, Any

__all__ = ["LineBar", "format_interval"]


def format_interval(seconds: float) -> str:
    """``m:ss`` / ``h:mm:ss``, like tqdm's elapsed time.

    Args:
        seconds: a duration.
    """
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class LineBar:
    """A progress display that writes complete lines, never ``"\\r"``.

    Args:
        desc: the text in front of the numbers.
        total: the number of steps, or None when unknown.
        leave: whether the round's last state is printed when it ends (transient bars print only
            the periodic lines of long rounds).
        disable: print nothing at all.
        file: where to write; ``sys.stderr`` when None.
        interval_s: the least time between two in-progress lines.
    """

    def __init__(
        self,
        desc: str = "",
        total: int | None = None,
        leave: bool = True,
        disable: bool = False,
        file: IO[str] | None = None,
        interval_s: float = 30.0,
    ) -> None:
        self.desc = desc
        self.total = total
        self.leave = leave
        self.disable = disable
        self.interval_s = interval_s
        self.n = 0
        self.initial = 0
        self.postfix = ""
        self._file = file if file is not None else sys.stderr
        self._start = self._last_line = time.monotonic()
        self._dirty = False  # something changed since the last line was printed
        self._closed = False

    def reset(self, total: int | None = None) -> None:
        """Finish the current round (printing its line) and start a new one of ``total`` steps."""
        self._finish()
        self.n = 0
        self.total = total
        self._start = self._last_line = time.monotonic()
        self._dirty = False

    def update(self, n: int = 1) -> None:
        self.n += n
        self.refresh()

    def refresh(self) -> None:
        """Print an in-progress line when ``interval_s`` has passed since the last one."""
        self._dirty = True
        if self.disable:
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval_s:
            self._emit(now)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s
        self._dirty = True

    def set_postfix(
        self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True, **kwargs: Any
    ) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.set_postfix_str(", ".join(f"{k}={v}" for k, v in items.items()))

    def write(self, s: str, **kwargs: Any) -> None:
        """Print ``s`` on its own line."""
        self._file.write(s + kwargs.get("end", "\n"))
        self._file.flush()

    def close(self) -> None:
        """End the bar, printing its last state when ``leave``; later calls do nothing."""
        if not self._closed:
            self._finish()
            self._closed = True
            self.disable = True  # as tqdm does: a closed bar no longer counts as active

    def _finish(self) -> None:
        if self.leave and self._dirty and not self.disable:
            self._emit(time.monotonic())

    def _emit(self, now: float) -> None:
        self._file.write(self.format_line(now - self._start) + "\n")
        self._file.flush()
        self._last_line = now
        self._dirty = False

    def format_line(self, elapsed: float) -> str:
        """``"<desc>: 40% 4/10 [00:02, 2.00it/s, loss=0.123]"`` (no percentage without a total).

        Args:
            elapsed: seconds since the round started.
        """
        if self.total:
            counts = f"{100 * self.n / self.total:3.0f}% {self.n}/{self.total}"
        else:
            counts = f"{self.n}"
        rate = self.n / elapsed if elapsed > 0 else 0.0
        speed = f"{rate:.2f}it/s" if rate >= 1 or rate == 0 else f"{1 / rate:.2f}s/it"
        extra = f", {self.postfix}" if self.postfix else ""
        prefix = f"{self.desc}: " if self.desc else ""
        return f"{prefix}{counts} [{format_interval(elapsed)}, {speed}{extra}]"
