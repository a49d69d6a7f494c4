"""``GradientAccumulationScheduler``: change ``accumulate_grad_batches`` as the epochs go by.

::

    from plkit.callbacks import GradientAccumulationScheduler

    # epochs 0-3: one batch per step; from epoch 4 (0-based): 2; from epoch 8: 4
    trainer = Trainer(callbacks=[GradientAccumulationScheduler(scheduling={4: 2, 8: 4})])

The factor is set on ``trainer.accumulate_grad_batches`` when each training epoch starts; the
training loop reads it then, so the batches pay nothing for the schedule.
"""

from __future__ import annotations

from typing import Any

from plcore import LightningModule
from plcore.callback import Callback
from plcore.hooks import is_overridden
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn

__all__ = ["GradientAccumulationScheduler"]


class GradientAccumulationScheduler(Callback):
    """Set the gradient accumulation factor per epoch from ``scheduling``.

    Each key is a 0-based epoch from which its factor applies, until the next key; epochs before
    the first key accumulate 1 batch (``{0: 1}`` is added when 0 is missing, as in Lightning).
    Automatic optimization only; leave ``Trainer(accumulate_grad_batches)`` at 1.

    Resuming from a checkpoint taken inside an epoch applies that epoch's factor from the first
    batch run (set in ``on_train_start``), so the resumed run steps as the uninterrupted one
    would; Lightning keeps 1 for the rest of such an epoch (``docs/differences.md``).

    Args:
        scheduling: ``{epoch: factor}``, epochs ints >= 0, factors ints >= 1.

    Raises:
        TypeError: if ``scheduling`` is empty.
        MisconfigurationException: if a key is not an int >= 0 or a value not an int >= 1.
    """

    def __init__(self, scheduling: dict[int, int]) -> None:
        super().__init__()
        if not scheduling:
            raise TypeError("Empty dict cannot be interpreted correct")
        if any(not isinstance(epoch, int) or epoch < 0 for epoch in scheduling):
            raise MisconfigurationException(
                f"Epoch should be an int greater than or equal to 0. Got {list(scheduling.keys())}."
            )
        if any(not isinstance(factor, int) or factor < 1 for factor in scheduling.values()):
            raise MisconfigurationException(
                "Accumulation factor should be an int greater than 0. "
                f"Got {list(scheduling.values())}."
            )
        if min(scheduling) != 0:
            scheduling.update({0: 1})  # the caller's dict, as Lightning does
        self.scheduling = scheduling
        self.epochs = sorted(scheduling)

    def going_to_accumulate_grad_batches(self) -> bool:
        """Whether any epoch accumulates more than one batch."""
        return any(factor > 1 for factor in self.scheduling.values())

    def get_accumulate_grad_batches(self, epoch: int) -> int:
        """The factor of ``epoch`` (0-based).

        Args:
            epoch: the epoch.
        """
        for start in reversed(self.epochs):
            if epoch >= start:
                return self.scheduling[start]
        return 1

    def on_train_start(self, trainer: Any, pl_module: LightningModule) -> None:
        """Refuse settings the schedule cannot work with (Lightning's checks and messages)."""
        if not pl_module.automatic_optimization:
            raise RuntimeError(
                "Automatic gradient accumulation and the `GradientAccumulationScheduler` is not "
                "supported for manual optimization. Please remove the callback or switch to "
                "automatic optimization."
            )
        custom = is_overridden(pl_module, "optimizer_step", LightningModule) or is_overridden(
            pl_module, "optimizer_zero_grad", LightningModule
        )
        if custom and self.going_to_accumulate_grad_batches():
            rank_zero_warn(
                "When using `Trainer(accumulate_grad_batches != 1)` and overriding"
                " `LightningModule.optimizer_{step,zero_grad}`, the hooks will not be called on"
                " every batch (rather, they are called on every optimization step)."
            )
        if type(trainer.strategy).__name__ == "DeepSpeedStrategy":
            raise RuntimeError(
                f"The `{type(trainer.strategy).__name__}` does not support "
                "`accumulate_grad_batches` changing between epochs."
            )
        if trainer.accumulate_grad_batches != 1:
            raise ValueError(
                "You have set `accumulate_grad_batches` and are using the"
                " `GradientAccumulationScheduler` callback. Either remove"
                " `accumulate_grad_batches` from the Trainer or remove the callback."
            )
        # a fit resumed inside an epoch gets no on_train_epoch_start for it
        trainer.accumulate_grad_batches = self.get_accumulate_grad_batches(trainer.current_epoch)

    def on_train_epoch_start(self, trainer: Any, *args: Any) -> None:
        trainer.accumulate_grad_batches = self.get_accumulate_grad_batches(trainer.current_epoch)
