"""``AsyncCheckpointIO``: write checkpoints in a background thread.

::

    from plkit.plugins import AsyncCheckpointIO

    trainer = Trainer(plugins=[AsyncCheckpointIO()])   # wraps TorchCheckpointIO

``save_checkpoint`` copies every tensor of the checkpoint into host memory (the only part the
training loop waits for) and hands the copy to one worker thread, which writes it through the
wrapped CheckpointIO (atomically, for TorchCheckpointIO: a crash mid-write leaves no file under
the final name). Saves, removals and loads keep their order: a removal runs after the saves
before it, a load waits for them. An error in the background is raised by the next
``save_checkpoint`` (or ``remove_checkpoint``, ``load_checkpoint``) or by ``teardown``, which
waits for the writes still pending.

Sharded FSDP checkpoints (every rank writes its shards) are not written through this thread:
the strategy sees ``is_async`` and writes them in the background itself, through
``checkpoint_io`` (see placcel's ``FSDPStrategy``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch

from plcore.checkpoint import CheckpointIO, TorchCheckpointIO

__all__ = ["AsyncCheckpointIO"]


class AsyncCheckpointIO(CheckpointIO):
    """Saves checkpoints in a thread through another CheckpointIO (Lightning's plugin).

    Args:
        checkpoint_io: the CheckpointIO that writes (``TorchCheckpointIO()`` when None).
    """

    #: Saves return before the write ends; strategies that write themselves (sharded FSDP) go
    #: asynchronous too, through ``checkpoint_io``.
    is_async = True

    def __init__(self, checkpoint_io: CheckpointIO | None = None) -> None:
        super().__init__()
        self.checkpoint_io: Any = (
            checkpoint_io if checkpoint_io is not None else TorchCheckpointIO()
        )
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        """Copy ``checkpoint``'s tensors to host memory, then write it in the background.

        Args:
            checkpoint: the checkpoint dict (not modified).
            path: where the wrapped CheckpointIO writes it.
            storage_options: passed on to the wrapped CheckpointIO.
        """
        self._raise_error()
        snapshot = _to_host(checkpoint)
        self._submit(self.checkpoint_io.save_checkpoint, snapshot, path, storage_options)

    def remove_checkpoint(self, path: Any) -> None:
        """Remove ``path`` once the saves before this call are written.

        Args:
            path: the checkpoint to delete.
        """
        self._raise_error()
        self._submit(self.checkpoint_io.remove_checkpoint, path)

    def load_checkpoint(self, path: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Wait for pending writes, then load through the wrapped CheckpointIO.

        Args:
            path: the checkpoint to read.
            *args: passed on (``map_location`` …).
            **kwargs: passed on.
        """
        self.wait()
        return self.checkpoint_io.load_checkpoint(path, *args, **kwargs)

    def storage_reader(self, path: Any) -> Any:
        """The wrapped CheckpointIO's safe reader of sharded folders (after pending writes)."""
        self.wait()
        return self.checkpoint_io.storage_reader(path)

    def wait(self) -> None:
        """Block until every pending write is done; raise the first background error."""
        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            future.result()
        self._raise_error()

    def teardown(self) -> None:
        """Wait for pending writes, stop the thread, raise a background error if one happened."""
        try:
            self.wait()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            self.checkpoint_io.teardown()

    # -- internals -----------------------------------------------------------------------------

    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plkit-ckpt")

        def run() -> None:
            try:
                fn(*args)
            except BaseException as err:  # kept for the caller's next call
                with self._lock:
                    if self._error is None:
                        self._error = err

        future = self._executor.submit(run)
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(future)

    def _raise_error(self) -> None:
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise RuntimeError(f"A checkpoint written in the background failed: {error}") from error


def _to_host(obj: Any) -> Any:
    """A copy of ``obj`` whose tensors are detached copies in host memory (point-in-time)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        copied = type(obj)() if type(obj) is not dict else {}
        try:
            for key, value in obj.items():
                copied[key] = _to_host(value)
        except TypeError:  # a mapping type that cannot be built empty
            return {key: _to_host(value) for key, value in obj.items()}
        return copied
    if isinstance(obj, list):
        return [_to_host(value) for value in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_to_host(value) for value in obj)
    return obj
