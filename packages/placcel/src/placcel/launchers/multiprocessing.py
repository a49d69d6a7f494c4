"""Start the ranks with ``torch.multiprocessing`` (``strategy="ddp_spawn"``, ``"ddp_fork"``).

With ``spawn`` every rank is a fresh interpreter that unpickles the function and its arguments,
so both must be picklable (module-level functions, no lambdas). Rank 0's return value comes
back to the main process through a queue; a failing rank's traceback is raised here and the
other ranks are terminated by ``torch.multiprocessing``.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.multiprocessing as mp

from placcel.launchers._watchdog import watch_parent
from placcel.launchers.launcher import Launcher

if TYPE_CHECKING:
    from placcel.strategies.strategy import Strategy

__all__ = ["START_METHODS", "MultiProcessingLauncher", "_MultiProcessingLauncher"]

START_METHODS = ("spawn", "fork", "forkserver")
_NOTHING = object()


class MultiProcessingLauncher(Launcher):
    """Run a function in ``strategy.num_processes`` new processes; return rank 0's result.

    Args:
        strategy: the strategy whose ranks to start; each process sets its local rank on it.
        start_method: ``"spawn"`` (default), ``"fork"`` or ``"forkserver"``.
    """

    def __init__(self, strategy: Strategy, start_method: str = "spawn") -> None:
        if start_method not in START_METHODS:
            raise ValueError(
                f"start_method={start_method!r} is not valid; write one of {list(START_METHODS)}."
            )
        if start_method not in mp.get_all_start_methods():
            raise ValueError(
                f"start_method={start_method!r} is not available on this platform; "
                f"use one of {mp.get_all_start_methods()}."
            )
        self.strategy = strategy
        self.start_method = start_method

    @property
    def is_interactive_compatible(self) -> bool:
        """Only ``fork`` works in notebooks: spawn cannot pickle functions defined there."""
        return self.start_method == "fork"

    def launch(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Start the ranks, run ``function`` in each, wait, and return rank 0's result.

        Args:
            function: the work of each process (picklable for ``spawn``).
            *args: positional arguments for ``function``.
            **kwargs: keyword arguments for ``function``.
        """
        if self.start_method == "fork" and torch.cuda.is_initialized():
            raise RuntimeError(
                "strategy='ddp_fork' cannot fork after CUDA was initialised in the main process; "
                "use strategy='ddp_spawn', or do not touch CUDA before fit."
            )
        self._export_main_address()
        context = mp.get_context(self.start_method)
        queue = context.SimpleQueue()
        try:
            process_context = mp.start_processes(
                self._wrapping_function,
                args=(function, args, kwargs, queue, os.getpid()),
                nprocs=self.strategy.num_processes,
                join=False,
                start_method=self.start_method,
            )
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            if "pickle" not in str(error).lower():
                raise
            raise TypeError(
                f"strategy='ddp_spawn' needs a picklable function and arguments ({error}); define "
                "the function at module level, avoid lambdas, or use strategy='ddp'."
            ) from error
        return _join(process_context, queue)

    def _export_main_address(self) -> None:
        # The workers inherit this environment and meet at the address rank 0 listens on.
        environment = self.strategy.cluster_environment
        if environment is not None:
            os.environ["MASTER_ADDR"] = environment.main_address
            os.environ["MASTER_PORT"] = str(environment.main_port)

    def _wrapping_function(
        self,
        process_index: int,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        queue: Any,
        parent_pid: int,
    ) -> None:
        # Without this, ranks whose launcher was killed would wait in collectives until the
        # process group times out.
        self.strategy._set_local_rank(process_index)
        watch_parent(parent_pid, self.strategy.global_rank)
        try:
            result = function(*args, **kwargs)
        except RuntimeError as error:
            if _is_peer_failure(error):
                # Another rank died and this one's collective broke as a consequence: wait, so
                # that the join reports the rank that really failed, with its own traceback.
                time.sleep(PEER_FAILURE_GRACE_S)
            raise
        if process_index == 0:
            queue.put(result)

    def __repr__(self) -> str:
        return f"MultiProcessingLauncher(start_method={self.start_method!r})"


#: How long a rank whose collective broke because a peer died waits before failing itself.
PEER_FAILURE_GRACE_S = 5.0
_PEER_FAILURE_SIGNS = ("Connection closed by peer", "Connection reset by peer", "remote worker")


def _is_peer_failure(error: BaseException) -> bool:
    """Whether ``error`` is a collective failing because another process went away."""
    text = str(error)
    return any(sign in text for sign in _PEER_FAILURE_SIGNS)


def _join(process_context: Any, queue: Any) -> Any:
    """Wait for all ranks, reading rank 0's result as it arrives (a full pipe would block it)."""
    result: Any = _NOTHING
    while not process_context.join(timeout=0.1):
        if result is _NOTHING and not queue.empty():
            result = queue.get()
    if result is _NOTHING and not queue.empty():
        result = queue.get()
    return None if result is _NOTHING else result


#: Lightning's name for this class.
_MultiProcessingLauncher = MultiProcessingLauncher
