"""``OnExceptionCheckpoint``: save a checkpoint when a run fails, to resume from where it stopped.

::

    from plkit.callbacks import OnExceptionCheckpoint

    trainer = Trainer(callbacks=[OnExceptionCheckpoint(dirpath="checkpoints")])
    trainer.fit(model)   # an exception in fit writes checkpoints/on_exception.ckpt
    trainer.fit(model, ckpt_path="checkpoints/on_exception.ckpt")   # continue from there

A run that ends without an exception deletes the file (in ``teardown``), as Lightning does.
"""

from __future__ import annotations

import os
from typing import Any

from plkit.callbacks.checkpoint import Checkpoint

__all__ = ["OnExceptionCheckpoint"]


class OnExceptionCheckpoint(Checkpoint):
    """Write ``dirpath/filename.ckpt`` from ``on_exception`` (overwriting an older one).

    Being a :class:`~plkit.callbacks.Checkpoint`, it takes the place of the default
    ``ModelCheckpoint`` (add one yourself to keep both) and cannot be combined with
    ``Trainer(enable_checkpointing=False)``.

    Args:
        dirpath: the folder of the checkpoint (needed up front: an exception can come at any time).
        filename: the file name without the extension.

    Raises:
        ValueError: if ``filename`` is empty.
    """

    FILE_EXTENSION = ".ckpt"

    def __init__(self, dirpath: str | os.PathLike[str], filename: str = "on_exception") -> None:
        super().__init__()
        if not filename:
            raise ValueError("The filename cannot be empty")
        self.dirpath = dirpath
        self.filename = filename

    @property
    def ckpt_path(self) -> str:
        """Where the checkpoint is written."""
        return os.path.join(self.dirpath, self.filename + self.FILE_EXTENSION)

    def on_exception(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
        trainer.save_checkpoint(self.ckpt_path)

    def teardown(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
        trainer.strategy.remove_checkpoint(self.ckpt_path)
