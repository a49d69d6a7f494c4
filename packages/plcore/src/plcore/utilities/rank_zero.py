"""Run code, warn and log on the global-zero process only.

``rank_zero_only`` is both a decorator and the holder of the current process's global rank::

    from plcore.utilities import rank_zero_only, rank_zero_info

    @rank_zero_only
    def write_summary() -> None: ...      # runs on rank 0, returns None elsewhere

    rank_zero_only.rank = 3                # a strategy sets the true rank once processes exist

The rank is read from the environment (``RANK``, then ``LOCAL_RANK``, ``SLURM_PROCID``,
``JSM_NAMESPACE_RANK``) the first time it is needed, never at import, so a launcher may set
those variables after ``import plcore`` and before the first call.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, overload

__all__ = [
    "rank_prefixed_message",
    "rank_zero_debug",
    "rank_zero_deprecation",
    "rank_zero_info",
    "rank_zero_only",
    "rank_zero_warn",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_RANK_ENV_VARS = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")
# Lightning counts ``stacklevel`` through two wrapper frames, so its default 4 names the direct
# caller. We call ``warnings.warn`` / ``Logger.log`` directly and subtract the difference, which
# keeps a ``stacklevel`` copied from a Lightning script pointing at the same line.
_STACK_OFFSET = 2


def _env_rank() -> int | None:
    """The first rank variable that holds an integer, else None (no launcher set one)."""
    for name in _RANK_ENV_VARS:
        value = os.environ.get(name)
        if value is not None:
            try:
                return int(value)
            except ValueError:
                continue
    return None


def _rank_from_env() -> int:
    """The first rank variable that holds an integer, else 0 (one process)."""
    rank = _env_rank()
    return 0 if rank is None else rank


class _RankZeroOnly:
    """Callable decorator object; ``.rank`` is settable and read lazily from the environment."""

    def __init__(self) -> None:
        self._rank: int | None = None

    @property
    def rank(self) -> int:
        if self._rank is None:
            self._rank = _rank_from_env()
        return self._rank

    @rank.setter
    def rank(self, value: int | None) -> None:
        # None forgets the cached value so the next read consults the environment again.
        if value is not None and not isinstance(value, int):
            raise TypeError(f"`rank_zero_only.rank` must be an int, got {type(value).__name__}.")
        self._rank = value

    @overload
    def __call__(self, fn: Callable[..., _T]) -> Callable[..., _T | None]: ...

    @overload
    def __call__(self, fn: Callable[..., _T], default: _T) -> Callable[..., _T]: ...

    def __call__(self, fn: Callable[..., Any], default: Any = None) -> Callable[..., Any]:
        """Wrap ``fn`` so that it runs on global rank 0 and returns ``default`` elsewhere.

        Args:
            fn: the function to guard.
            default: what the other ranks get back instead of ``fn``'s result.
        """
        if not callable(fn):
            raise TypeError(f"`rank_zero_only` decorates a function, got {type(fn).__name__}.")

        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if self.rank == 0:
                return fn(*args, **kwargs)
            return default

        return wrapped

    def __repr__(self) -> str:
        return f"rank_zero_only(rank={self._rank if self._rank is not None else 'unset'})"


rank_zero_only = _RankZeroOnly()


def rank_prefixed_message(message: str, rank: int | None) -> str:
    """Prefix ``message`` with ``[rank: N]`` when a rank is known.

    Args:
        message: the text.
        rank: the process rank, or None to return the message unchanged.
    """
    return message if rank is None else f"[rank: {rank}] {message}"


def rank_zero_warn(message: str | Warning, stacklevel: int = 4, **kwargs: Any) -> None:
    """Emit ``warnings.warn`` on global rank 0 only.

    Args:
        message: the warning text or a Warning instance.
        stacklevel: counted as in Lightning; the default 4 names the line that called this.
        **kwargs: other ``warnings.warn`` arguments, e.g. ``category``.
    """
    if rank_zero_only.rank == 0:
        warnings.warn(message, stacklevel=max(1, stacklevel - _STACK_OFFSET), **kwargs)


def rank_zero_deprecation(message: str, stacklevel: int = 5, **kwargs: Any) -> None:
    """Emit a ``DeprecationWarning`` on global rank 0 only (see :func:`rank_zero_warn`).

    Args:
        message: what is deprecated and what to use instead.
        stacklevel: counted as in Lightning; the default 5 names the line that called this.
        **kwargs: other ``warnings.warn`` arguments.
    """
    kwargs.setdefault("category", DeprecationWarning)
    rank_zero_warn(message, stacklevel=stacklevel, **kwargs)


def rank_zero_info(message: str, *args: Any, stacklevel: int = 4, **kwargs: Any) -> None:
    """Log at INFO level on global rank 0 only, through the ``plcore`` logger.

    Args:
        message: a ``logging`` format string.
        *args: its arguments.
        stacklevel: counted as in Lightning; the default 4 names the line that called this.
        **kwargs: other ``Logger.info`` arguments.
    """
    if rank_zero_only.rank == 0:
        log.info(message, *args, stacklevel=max(1, stacklevel - _STACK_OFFSET), **kwargs)


def rank_zero_debug(message: str, *args: Any, stacklevel: int = 4, **kwargs: Any) -> None:
    """Log at DEBUG level on global rank 0 only, through the ``plcore`` logger.

    Args:
        message: a ``logging`` format string.
        *args: its arguments.
        stacklevel: counted as in Lightning; the default 4 names the line that called this.
        **kwargs: other ``Logger.debug`` arguments.
    """
    if rank_zero_only.rank == 0:
        log.debug(message, *args, stacklevel=max(1, stacklevel - _STACK_OFFSET), **kwargs)
