"""``Callback``: the base class for code that hooks into the Trainer's loops.

Every hook is a no-op here; a subclass overrides only what it needs, and the Trainer dispatches
only the hooks a callback actually overrides (see :mod:`plcore.hooks`).

Example:
    >>> class PrintCallback(Callback):
    ...     def on_train_start(self, trainer, pl_module):
    ...         print("Training is started!")
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["Callback"]


class Callback:
    """Base class for callbacks (Lightning 2.x names and signatures).

    ``trainer`` is the running Trainer and ``pl_module`` the LightningModule it trains.
    """

    @property
    def state_key(self) -> str:
        """Key of this callback's state in a checkpoint; unique per class and identifying arguments."""
        return self.__class__.__qualname__

    def _generate_state_key(self, **kwargs: Any) -> str:
        """Build a state key from the class name and the arguments that identify an instance."""
        return f"{self.__class__.__qualname__}{kwargs!r}"

    def state_dict(self) -> dict[str, Any]:
        """Return the state to store in checkpoints (plain types and tensors only)."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state returned by :meth:`state_dict`."""

    # --- set-up and tear-down ---------------------------------------------------------------
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Called when fit, validate, test or predict begins."""

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Called when fit, validate, test or predict ends."""

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        """Called when fit begins, after ``setup`` and ``configure_optimizers``."""

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        """Called when fit ends, after ``on_train_end``."""

    def on_sanity_check_start(self, trainer: Any, pl_module: Any) -> None:
        """Called before the validation batches run as a sanity check."""

    def on_sanity_check_end(self, trainer: Any, pl_module: Any) -> None:
        """Called after the sanity check; its logged values are discarded."""

    # --- training ---------------------------------------------------------------------------
    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        """Called once before the first training epoch."""

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        """Called once after the last training epoch."""

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        """Called at the start of each training epoch."""

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Called at the end of each training epoch, after end-of-epoch validation."""

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        """Called before ``training_step`` (the batch is already on the device)."""

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Called after each training batch; ``outputs`` is the step's output dict."""

    # --- validation -------------------------------------------------------------------------
    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        """Called when a validation run begins (the module is in eval mode)."""

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        """Called when a validation run ends."""

    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        """Called before the first validation batch."""

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Called after the last validation batch (epoch values are in callback_metrics)."""

    def on_validation_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Called before each ``validation_step``."""

    def on_validation_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Called after each ``validation_step`` with what it returned."""

    # --- test -------------------------------------------------------------------------------
    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        """Called when a test run begins."""

    def on_test_end(self, trainer: Any, pl_module: Any) -> None:
        """Called when a test run ends."""

    def on_test_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        """Called before the first test batch."""

    def on_test_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Called after the last test batch."""

    def on_test_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Called before each ``test_step``."""

    def on_test_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Called after each ``test_step`` with what it returned."""

    # --- predict ----------------------------------------------------------------------------
    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        """Called when a predict run begins."""

    def on_predict_end(self, trainer: Any, pl_module: Any) -> None:
        """Called when a predict run ends."""

    def on_predict_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        """Called before the first predict batch."""

    def on_predict_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Called after the last predict batch."""

    def on_predict_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Called before each ``predict_step``."""

    def on_predict_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Called after each ``predict_step`` with its prediction."""

    # --- optimization -----------------------------------------------------------------------
    def on_before_backward(self, trainer: Any, pl_module: Any, loss: torch.Tensor) -> None:
        """Called before ``backward`` with the loss it will differentiate."""

    def on_after_backward(self, trainer: Any, pl_module: Any) -> None:
        """Called after ``backward``: gradients exist (still scaled under 16-mixed)."""

    def on_before_optimizer_step(
        self, trainer: Any, pl_module: Any, optimizer: torch.optim.Optimizer
    ) -> None:
        """Called before the optimizer steps: gradients are final (unscaled, unclipped)."""

    def on_before_zero_grad(
        self, trainer: Any, pl_module: Any, optimizer: torch.optim.Optimizer
    ) -> None:
        """Called before the gradients of ``optimizer`` are reset."""

    # --- checkpoints and errors -------------------------------------------------------------
    def on_save_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        """Called when a checkpoint is saved: add to or change ``checkpoint``."""

    def on_load_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        """Called when resuming from ``checkpoint``, before the weights are used."""

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        """Called when a run fails with ``exception``, before it propagates."""
