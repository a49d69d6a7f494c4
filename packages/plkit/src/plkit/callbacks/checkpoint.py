"""``Checkpoint``: the base class of callbacks that save checkpoints (Lightning's name).

The Trainer treats every ``Checkpoint`` alike: ``trainer.checkpoint_callbacks`` lists them, they
run after the other callbacks, a default :class:`~plkit.callbacks.ModelCheckpoint` is added only
when none is given, and ``enable_checkpointing=False`` refuses one.
"""

from __future__ import annotations

from plcore.callback import Callback

__all__ = ["Checkpoint"]


class Checkpoint(Callback):
    """Base class for checkpointing callbacks (``ModelCheckpoint``, ``OnExceptionCheckpoint``)."""
