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

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None: ...

    def on_sanity_check_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_sanity_check_end(self, trainer: Any, pl_module: Any) -> None: ...

    # --- training ---------------------------------------------------------------------------
    def on_train_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_train_end(self, trainer: Any, pl_module: Any) -> None: ...

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None: ...

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None: ...

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None: ...

    # --- validation -------------------------------------------------------------------------
    def on_validation_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None: ...

    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None: ...

    def on_validation_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None: ...

    def on_validation_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None: ...

    # --- test -------------------------------------------------------------------------------
    def on_test_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_test_end(self, trainer: Any, pl_module: Any) -> None: ...

    def on_test_epoch_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_test_epoch_end(self, trainer: Any, pl_module: Any) -> None: ...

    def on_test_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None: ...

    def on_test_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None: ...

    # --- predict ----------------------------------------------------------------------------
    def on_predict_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_predict_end(self, trainer: Any, pl_module: Any) -> None: ...

    def on_predict_epoch_start(self, trainer: Any, pl_module: Any) -> None: ...

    def on_predict_epoch_end(self, trainer: Any, pl_module: Any) -> None: ...

    def on_predict_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None: ...

    def on_predict_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None: ...

    # --- optimization -----------------------------------------------------------------------
    def on_before_backward(self, trainer: Any, pl_module: Any, loss: torch.Tensor) -> None: ...

    def on_after_backward(self, trainer: Any, pl_module: Any) -> None: ...

    def on_before_optimizer_step(
        self, trainer: Any, pl_module: Any, optimizer: torch.optim.Optimizer
    ) -> None: ...

    def on_before_zero_grad(
        self, trainer: Any, pl_module: Any, optimizer: torch.optim.Optimizer
    ) -> None: ...

    # --- checkpoints and errors -------------------------------------------------------------
    def on_save_checkpoint(
        self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]
    ) -> None: ...

    def on_load_checkpoint(
        self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]
    ) -> None: ...

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None: ...
