"""``NonFiniteLossCheck``: stop a fit whose loss became NaN or infinite, cheaply (plkit's own).

``Trainer(detect_anomaly=True)`` finds the operation that made a NaN, at a large cost on every
step. This callback only asks whether the loss stayed finite: each training step adds the loss
into a float64 accumulator on its device (one small tensor operation, no host sync), and every
``every_n_steps`` optimizer steps — and before any checkpoint is written, and when training ends
— it reads that one number. A NaN or an infinity anywhere in the window makes the sum
non-finite, and the fit stops with :class:`NonFiniteLossError`, naming the steps. A checkpoint
is never written after a non-finite loss, so ``best`` and ``last`` keep the good weights::

    trainer = Trainer(callbacks=[NonFiniteLossCheck(every_n_steps=100)])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from plcore.callback import Callback

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["NonFiniteLossCheck", "NonFiniteLossError"]


class NonFiniteLossError(RuntimeError):
    """The training loss was NaN or infinite (raised by :class:`NonFiniteLossCheck`)."""


class NonFiniteLossCheck(Callback):
    """Stop training when the loss is NaN or infinite; never checkpoint after such a loss.

    Args:
        every_n_steps: check every this many optimizer steps (each check reads one number from
            the device); checkpoints and the end of training are always checked first.
    """

    def __init__(self, every_n_steps: int = 100) -> None:
        if (
            isinstance(every_n_steps, bool)
            or not isinstance(every_n_steps, int)
            or every_n_steps < 1
        ):
            raise ValueError(
                f"NonFiniteLossCheck(every_n_steps={every_n_steps!r}) must be a positive int, e.g."
                " 100 (1 checks every step, at one host sync per step)."
            )
        self.every_n_steps = every_n_steps
        self._sum: torch.Tensor | None = None
        self._since = 0  # optimizer step of the last good check
        self._last_checked = 0

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if type(outputs) is dict else outputs
        if isinstance(loss, torch.Tensor):
            total = self._sum
            if total is None or total.device != loss.device:
                total = self._sum = torch.zeros((), dtype=torch.float64, device=loss.device)
            if loss.requires_grad or loss.dim():  # the Trainer hands a detached scalar over
                loss = loss.detach().sum()
            total.add_(loss)  # one in-place add on the device, no host sync
        if trainer.global_step - self._last_checked >= self.every_n_steps:
            self._check(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
        self._check(trainer)

    def on_train_end(self, trainer: Trainer, pl_module: Any) -> None:
        self._check(trainer)

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: Any, checkpoint: dict[str, Any]
    ) -> None:
        self._check(trainer)  # raising here writes nothing: the last good file stays

    def _check(self, trainer: Trainer) -> None:
        step = trainer.global_step
        self._last_checked = step
        total, self._sum = self._sum, None
        if total is None or bool(torch.isfinite(total)):
            self._since = step
            return
        raise NonFiniteLossError(
            f"The training loss was NaN or infinite at an optimizer step after step {self._since}"
            f" and up to step {step} (epoch {trainer.current_epoch}; NonFiniteLossCheck checks"
            f" every {self.every_n_steps} steps). Training stopped and no checkpoint was written"
            " after it. Lower the learning rate, clip gradients (Trainer(gradient_clip_val=...)),"
            " check the data, or find the operation with Trainer(detect_anomaly=True)."
        )
