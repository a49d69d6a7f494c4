"""``EarlyStopping``: stop training when a monitored metric stops improving.

::

    from plkit.callbacks import EarlyStopping

    class LitModel(LightningModule):
        def validation_step(self, batch, batch_idx):
            self.log("val_loss", self.loss(batch))

    trainer = Trainer(callbacks=[EarlyStopping(monitor="val_loss", mode="min", patience=3)])

In a multi-process run every rank evaluates the criteria on its own value; if any rank decides to
stop, all stop (the decision is reduced with "any").
"""

from __future__ import annotations

import logging
import math
from enum import Enum
from typing import TYPE_CHECKING, Any

import torch

from plcore.callback import Callback
from plcore.utilities.rank_zero import rank_prefixed_message, rank_zero_warn

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["EarlyStopping", "EarlyStoppingReason"]

log = logging.getLogger(__name__)


class EarlyStoppingReason(Enum):
    """Why :class:`EarlyStopping` stopped training (``EarlyStopping.stopping_reason``).

    Checkpoints store the member's integer ``value`` (as Lightning's do).
    """

    NOT_STOPPED = 0
    STOPPING_THRESHOLD = 1
    DIVERGENCE_THRESHOLD = 2
    PATIENCE_EXHAUSTED = 3
    NON_FINITE_METRIC = 4


class EarlyStopping(Callback):
    r"""Stop training when ``monitor`` has not improved for ``patience`` checks.

    **Patience counts checks, not epochs.** A check happens each time the callback runs: by default
    once per training epoch when validation runs every epoch, otherwise after every validation run.
    With ``check_val_every_n_epoch=10`` and ``patience=3`` training lasts at least 40 epochs; with
    ``val_check_interval=0.25`` four checks happen per epoch.

    Args:
        monitor: the logged metric to watch (as passed to ``self.log``).
        min_delta: an improvement must exceed this (absolute) change to count; a change of
            ``min_delta`` or less counts as no improvement.
        patience: checks without improvement after which training stops.
        verbose: log the outcome of every check.
        mode: ``"min"`` (stop when it stops decreasing) or ``"max"`` (stops increasing).
        strict: raise when ``monitor`` was not logged; False skips the check instead (warning
            when ``verbose``).
        check_finite: stop as soon as the metric is NaN or infinite.
        stopping_threshold: stop as soon as the metric is better than this.
        divergence_threshold: stop as soon as the metric is worse than this.
        check_on_train_epoch_end: check at the end of the training epoch (True) or after each
            validation (False); None: at the epoch end when validation runs once every epoch (or
            not at all), else after validation.
        log_rank_zero_only: with ``verbose``, log only on global rank 0.
    """

    mode_dict = {"min": torch.lt, "max": torch.gt}
    order_dict = {"min": "<", "max": ">"}
    # The Trainer runs this callback's on_train_epoch_end after the module's (see hook-order.md).
    _monitors_metrics = True

    def __init__(
        self,
        monitor: str,
        min_delta: float = 0.0,
        patience: int = 3,
        verbose: bool = False,
        mode: str = "min",
        strict: bool = True,
        check_finite: bool = True,
        stopping_threshold: float | None = None,
        divergence_threshold: float | None = None,
        check_on_train_epoch_end: bool | None = None,
        log_rank_zero_only: bool = False,
    ) -> None:
        super().__init__()
        _check_arguments(monitor, min_delta, patience, mode)
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.mode = mode
        self.strict = strict
        self.check_finite = check_finite
        for flag, threshold in (
            ("stopping_threshold", stopping_threshold),
            ("divergence_threshold", divergence_threshold),
        ):
            if threshold is not None and (
                isinstance(threshold, bool) or not isinstance(threshold, (int, float))
            ):
                raise TypeError(f"EarlyStopping({flag}={threshold!r}) must be a number or None.")
        self.stopping_threshold = stopping_threshold
        self.divergence_threshold = divergence_threshold
        self.log_rank_zero_only = log_rank_zero_only
        self._check_on_train_epoch_end = check_on_train_epoch_end
        # Stored signed, so that "current - min_delta beats best" works for both modes.
        self.min_delta = float(min_delta) * (1 if mode == "max" else -1)
        self.wait_count = 0
        self.stopped_epoch = 0
        self.best_score = torch.tensor(math.inf if mode == "min" else -math.inf)
        self.stopping_reason = EarlyStoppingReason.NOT_STOPPED
        self.stopping_reason_message: str | None = None

    @property
    def monitor_op(self) -> Any:
        """``torch.lt`` in min mode, ``torch.gt`` in max mode: "is the first value better"."""
        return self.mode_dict[self.mode]

    @property
    def state_key(self) -> str:
        return self._generate_state_key(monitor=self.monitor, mode=self.mode)

    # --- hooks ----------------------------------------------------------------------------------
    def setup(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        if self._check_on_train_epoch_end is None:
            # Validation more or less often than once per epoch: check right after it instead.
            self._check_on_train_epoch_end = bool(trainer.validates_once_per_epoch)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
        if not self._check_on_train_epoch_end or self._should_skip_check(trainer):
            return
        self._run_early_stopping_check(trainer)

    def on_validation_end(self, trainer: Trainer, pl_module: Any) -> None:
        if self._check_on_train_epoch_end or self._should_skip_check(trainer):
            return
        self._run_early_stopping_check(trainer)

    def state_dict(self) -> dict[str, Any]:
        return {
            "wait_count": self.wait_count,
            "stopped_epoch": self.stopped_epoch,
            "best_score": self.best_score,
            "patience": self.patience,
            "stopping_reason": self.stopping_reason.value,
            "stopping_reason_message": self.stopping_reason_message,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.wait_count = state_dict["wait_count"]
        self.stopped_epoch = state_dict["stopped_epoch"]
        self.best_score = state_dict["best_score"]
        self.patience = state_dict["patience"]
        reason = state_dict.get("stopping_reason", EarlyStoppingReason.NOT_STOPPED.value)
        self.stopping_reason = EarlyStoppingReason(reason)
        self.stopping_reason_message = state_dict.get("stopping_reason_message")

    # --- the check ------------------------------------------------------------------------------
    @staticmethod
    def _should_skip_check(trainer: Trainer) -> bool:
        return trainer.state.fn != "fit" or bool(trainer.sanity_checking)

    def _validate_condition_metric(self, logs: dict[str, Any]) -> bool:
        if logs.get(self.monitor) is not None:
            return True
        available = "`, `".join(logs)
        message = (
            f"Early stopping conditioned on metric `{self.monitor}` which is not available."
            " Pass in or modify your `EarlyStopping` callback to use any of the following:"
            f" `{available}`"
        )
        if self.strict:
            raise RuntimeError(message)
        if self.verbose:
            rank_zero_warn(message, category=RuntimeWarning)
        return False

    def _run_early_stopping_check(self, trainer: Trainer) -> None:
        logs = trainer.callback_metrics
        if trainer.fast_dev_run or not self._validate_condition_metric(logs):
            return
        current = torch.as_tensor(logs[self.monitor]).squeeze()
        should_stop, reason = self._evaluate_stopping_criteria(current)
        # One rank that wants to stop stops them all.
        should_stop = trainer.strategy.reduce_boolean_decision(should_stop, all=False)
        trainer.should_stop = trainer.should_stop or should_stop
        if should_stop:
            self.stopped_epoch = trainer.current_epoch
        if reason and self.verbose:
            self._log_info(trainer, reason, self.log_rank_zero_only)

    def _evaluate_stopping_criteria(self, current: torch.Tensor) -> tuple[bool, str | None]:
        """Decide whether ``current`` stops training; returns ``(should_stop, message)``.

        Args:
            current: the monitored value of this check.
        """
        best = self.best_score.to(current.device)
        hard_stop = self._threshold_stop(current, best)
        if hard_stop is not None:
            return self._stop(*hard_stop)
        if self.monitor_op(current - self.min_delta, best):
            message = self._improvement_message(current)
            self.best_score = current
            self.wait_count = 0
            return False, message
        self.wait_count += 1
        if self.wait_count >= self.patience:
            return self._stop(
                EarlyStoppingReason.PATIENCE_EXHAUSTED,
                f"Monitored metric {self.monitor} did not improve in the last {self.wait_count}"
                f" records. Best score: {float(best):.3f}. Signaling Trainer to stop.",
            )
        return False, None

    def _threshold_stop(
        self, current: torch.Tensor, best: torch.Tensor
    ) -> tuple[EarlyStoppingReason, str] | None:
        """The conditions that stop at once, whatever the patience: non-finite, thresholds."""
        # The value as Python prints it (``0.949999988079071``), as in Lightning's messages.
        value = f"{self.monitor} = {current.item()}"
        if self.check_finite and not torch.isfinite(current):
            return EarlyStoppingReason.NON_FINITE_METRIC, (
                f"Monitored metric {value} is not finite."
                f" Previous best value was {float(best):.3f}. Signaling Trainer to stop."
            )
        threshold = self.stopping_threshold
        if threshold is not None and self.monitor_op(current, threshold):
            return EarlyStoppingReason.STOPPING_THRESHOLD, (
                f"Stopping threshold reached: {value} {self.order_dict[self.mode]} {threshold}."
                " Signaling Trainer to stop."
            )
        threshold = self.divergence_threshold
        if threshold is not None and self.monitor_op(-current, -threshold):
            # Lightning writes the mode's sign here too ("7.0 < 5.0" in min mode); so does plkit.
            return EarlyStoppingReason.DIVERGENCE_THRESHOLD, (
                f"Divergence threshold reached: {value} {self.order_dict[self.mode]} {threshold}."
                " Signaling Trainer to stop."
            )
        return None

    def _stop(self, reason: EarlyStoppingReason, message: str) -> tuple[bool, str]:
        self.stopping_reason = reason
        self.stopping_reason_message = message
        return True, message

    def _improvement_message(self, current: torch.Tensor) -> str:
        if torch.isfinite(self.best_score):
            change = abs(float(self.best_score) - float(current))
            return (
                f"Metric {self.monitor} improved by {change:.3f} >= min_delta ="
                f" {abs(self.min_delta)}. New best score: {float(current):.3f}"
            )
        return f"Metric {self.monitor} improved. New best score: {float(current):.3f}"

    @staticmethod
    def _log_info(trainer: Trainer, message: str, log_rank_zero_only: bool) -> None:
        rank = getattr(trainer, "global_rank", 0) if trainer.world_size > 1 else None
        if rank is None or not log_rank_zero_only or rank == 0:
            log.info(rank_prefixed_message(message, rank))


def _check_arguments(monitor: Any, min_delta: Any, patience: Any, mode: Any) -> None:
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(
            f"EarlyStopping(monitor=...) takes the name of a logged metric, e.g. 'val_loss';"
            f" got {monitor!r}."
        )
    if mode not in EarlyStopping.mode_dict:
        raise ValueError(f"`mode` can be 'min' or 'max', got {mode!r}.")
    if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)):
        raise TypeError(f"EarlyStopping(min_delta=...) takes a number, got {min_delta!r}.")
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
        raise ValueError(f"EarlyStopping(patience={patience!r}) is invalid: use an int >= 0.")
