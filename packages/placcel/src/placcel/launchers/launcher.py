"""The Launcher interface: run a function in every process of the job."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

__all__ = ["Launcher"]


class Launcher(ABC):
    """Starts the job's processes (if needed) and runs a function in each of them."""

    @property
    @abstractmethod
    def is_interactive_compatible(self) -> bool:
        """Whether the launcher works in a notebook or REPL (no script to re-run)."""

    @abstractmethod
    def launch(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``function(*args, **kwargs)`` in every process; return rank 0's result here.

        Args:
            function: the work of each process (e.g. the Trainer's fit).
            *args: positional arguments for ``function``.
            **kwargs: keyword arguments for ``function``.
        """
