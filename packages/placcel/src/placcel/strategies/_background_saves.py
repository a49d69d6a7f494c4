"""The background queue of a strategy's asynchronous sharded saves (used by FSDPStrategy).

One worker thread per process runs the jobs in order: finishing a sharded save (wait for DCP's
write, rank 0 adds ``meta.pt`` and renames the folder, every rank learns the outcome) and the
removals queued behind it. DCP's collectives run on a gloo group of their own, made on the first
save, so they never interleave with the training loop's collectives on the default group.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

__all__: list[str] = []


class _BackgroundSaves:
    """Ordered background jobs; the first error is kept and raised by :meth:`wait`."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._group: Any = None

    def group(self, timeout: timedelta) -> Any:
        """The gloo group for DCP's coordination (made on first use: every rank must call)."""
        if self._group is None:
            self._group = dist.new_group(backend="gloo", timeout=timeout)
        return self._group

    def submit(self, fn: Callable[[], None], after_error: bool = True) -> None:
        """Run ``fn`` after the jobs before it; ``after_error=False`` skips it when one of
        them failed (a removal must not delete the checkpoint that replaces a failed one)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="placcel-ckpt")

        def run() -> None:
            if not after_error and self._error is not None:
                return
            try:
                fn()
            except BaseException as err:  # kept for the caller's next save, load or teardown
                with self._lock:
                    if self._error is None:
                        self._error = err

        future = self._executor.submit(run)
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(future)

    def wait(self) -> None:
        """Block until every job is done; raise the first background error (once)."""
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise RuntimeError(f"A checkpoint written in the background failed: {error}") from error

    def close(self) -> None:
        """Wait for the jobs (raising an error one had), stop the thread, free the group."""
        try:
            self.wait()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            if self._group is not None and dist.is_initialized():
                dist.destroy_process_group(self._group)
            self._group = None


class _HostCopyStager:
    """DCP's ``AsyncStager`` protocol: stage a state dict as one plain copy to host memory
    (DCP's default stager took several times as long for the same shards on CPU)."""

    _synchronize_after_execute = False

    @property
    def should_synchronize_after_execute(self) -> bool:
        return False

    def stage(self, state_dict: Any) -> Any:
        return _to_host(state_dict)

    def synchronize_staging(self) -> None:
        return None

    def close(self) -> None:
        return None


def _to_host(obj: Any) -> Any:
    """A point-in-time copy of ``obj``: containers rebuilt, tensors copied to host memory."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        items = [(key, _to_host(value)) for key, value in obj.items()]
        if type(obj) is dict:
            return dict(items)
        try:  # the same mapping type (OrderedDict, AttributeDict …) so meta.pt is unchanged
            copied = copy.copy(obj)
            copied.clear()
            copied.update(items)
        except (TypeError, AttributeError):
            return dict(items)
        return copied
    if isinstance(obj, list):
        return [_to_host(value) for value in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_to_host(value) for value in obj)
    return obj
