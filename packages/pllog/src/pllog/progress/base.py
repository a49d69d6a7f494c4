"""``ProgressBar``: the base class of progress-bar callbacks, with the bookkeeping every bar needs.

It knows how many batches each stage will run (from the Trainer's ``num_*_batches``), counts the
batches done, and collects the metrics to show (``trainer.progress_bar_metrics`` and ``v_num``).
A subclass draws; see :class:`pllog.progress.tqdm.TQDMProgressBar`. A subclass that overrides a
``*_batch_end`` or ``on_*_start`` hook calls ``super()`` so the counters stay right.
"""

from __future__ import annotations

import math
from typing import Any

from plcore.callback import Callback
from plcore.utilities.rank_zero import rank_zero_warn

__all__ = ["ProgressBar"]


def _stage(trainer: Any) -> str:
    """``trainer.state.fn`` as a plain string (it may be a str-valued Enum)."""
    fn = getattr(getattr(trainer, "state", None), "fn", None)
    return str(getattr(fn, "value", fn))


def _as_list(batches: Any) -> list[int | float]:
    if batches is None:
        return []
    return list(batches) if isinstance(batches, (list, tuple)) else [batches]


class ProgressBar(Callback):
    """Base class for progress bars (Lightning 2.x API); draws nothing itself.

    The bar is disabled on every process but global rank 0 (decided in :meth:`setup`).
    """

    def __init__(self) -> None:
        self._trainer: Any = None
        self._enabled = True
        self._current_eval_dataloader_idx: int | None = None
        self._train_batch_idx = 0
        self._val_batch_idx = 0
        self._test_batch_idx = 0
        self._predict_batch_idx = 0
        # Validation batches run inside the current training epoch, for a bar that shows both.
        self._fit_val_batches_done = 0
        self._counting_fit_val = False

    @property
    def trainer(self) -> Any:
        """The Trainer this bar is attached to (set in :meth:`setup`)."""
        if self._trainer is None:
            raise TypeError(f"The `{type(self).__name__}._trainer` reference has not been set yet.")
        return self._trainer

    @property
    def sanity_check_description(self) -> str:
        return "Sanity Checking"

    @property
    def train_description(self) -> str:
        return "Training"

    @property
    def validation_description(self) -> str:
        return "Validation"

    @property
    def test_description(self) -> str:
        return "Testing"

    @property
    def predict_description(self) -> str:
        return "Predicting"

    @property
    def is_enabled(self) -> bool:
        """Whether the bar draws."""
        return self._enabled

    @property
    def is_disabled(self) -> bool:
        """Whether the bar is silent."""
        return not self.is_enabled

    def enable(self) -> None:
        """Turn drawing on (the Trainer calls it after an interruption such as a debugger)."""
        self._enabled = True

    def disable(self) -> None:
        """Turn drawing off, e.g. on ranks other than 0."""
        self._enabled = False

    def print(self, *args: Any, **kwargs: Any) -> None:
        """Print without breaking the bar's display; the base class prints nothing."""

    # --- counters -------------------------------------------------------------------------
    @property
    def train_batch_idx(self) -> int:
        """Training batches finished in the current epoch."""
        return self._train_batch_idx

    @property
    def val_batch_idx(self) -> int:
        """Batches finished of the current validation (or sanity-check) dataloader."""
        return self._val_batch_idx

    @property
    def test_batch_idx(self) -> int:
        """Batches finished of the current test dataloader."""
        return self._test_batch_idx

    @property
    def predict_batch_idx(self) -> int:
        """Batches finished of the current predict dataloader."""
        return self._predict_batch_idx

    # --- totals ---------------------------------------------------------------------------
    @property
    def total_train_batches(self) -> int | float:
        """Training batches per epoch; ``inf`` for an iterable dataset of unknown length."""
        return self.trainer.num_training_batches

    @property
    def total_val_batches_current_dataloader(self) -> int | float:
        """Batches of the validation (or sanity-check) dataloader being run."""
        trainer = self.trainer
        batches = (
            trainer.num_sanity_val_batches if trainer.sanity_checking else trainer.num_val_batches
        )
        return self._current_loader_total(batches)

    @property
    def total_test_batches_current_dataloader(self) -> int | float:
        """Batches of the test dataloader being run."""
        return self._current_loader_total(self.trainer.num_test_batches)

    @property
    def total_predict_batches_current_dataloader(self) -> int | float:
        """Batches of the predict dataloader being run."""
        return self._current_loader_total(self.trainer.num_predict_batches)

    def _current_loader_total(self, batches: Any) -> int | float:
        batches = _as_list(batches)
        idx = self._current_eval_dataloader_idx or 0
        return batches[idx] if idx < len(batches) else 0

    @property
    def total_val_batches(self) -> int | float:
        """Validation batches run during the current training epoch, over all val dataloaders.

        One validation run is ``sum(trainer.num_val_batches)``; it happens
        ``num_training_batches // val_check_batch`` times an epoch (once with the default
        ``val_check_interval=1.0``), and not at all in epochs skipped by
        ``check_val_every_n_epoch``. With ``check_val_every_n_epoch=None`` validation counts
        training batches across epochs, and this counts the runs that fall in this epoch.
        """
        per_run = sum(_as_list(getattr(self.trainer, "num_val_batches", None)))
        if per_run == 0:
            return 0
        runs = self._val_runs_this_epoch()
        return per_run * runs if runs else 0

    def _val_runs_this_epoch(self) -> int:
        trainer = self.trainer
        every_n = getattr(trainer, "check_val_every_n_epoch", 1)
        if every_n is not None and (trainer.current_epoch + 1) % every_n != 0:
            return 0
        train = trainer.num_training_batches
        check = getattr(trainer, "val_check_batch", None)
        if check is None or check < 1 or math.isinf(check) or math.isinf(train):
            return 1  # an epoch of unknown length validates once, at its end
        if every_n is None:
            start = trainer.current_epoch * int(train)
            return (start + int(train)) // int(check) - start // int(check)
        return max(int(train) // int(check), 0)

    # --- dataloader tracking --------------------------------------------------------------
    def has_dataloader_changed(self, dataloader_idx: int) -> bool:
        """Record ``dataloader_idx`` and say whether it differs from the previous batch's.

        Args:
            dataloader_idx: the index of the dataloader of the batch about to run.
        """
        previous = self._current_eval_dataloader_idx
        self._current_eval_dataloader_idx = dataloader_idx
        return previous != dataloader_idx

    def reset_dataloader_idx_tracker(self) -> None:
        """Forget the current dataloader (at the end of an evaluation)."""
        self._current_eval_dataloader_idx = None

    # --- metrics --------------------------------------------------------------------------
    def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
        """The values to show: ``v_num`` (the first logger's version) then ``trainer.progress_bar_metrics``.

        Override it to add or hide entries, e.g. ``items.pop("v_num", None)``.

        Args:
            trainer: the Trainer.
            pl_module: the LightningModule.
        """
        standard: dict[str, Any] = {}
        loggers = getattr(trainer, "loggers", None)
        if loggers:
            version = loggers[0].version
            if version is not None and version != "":
                standard["v_num"] = version
        shown = dict(trainer.progress_bar_metrics)
        if standard.keys() & shown.keys():
            rank_zero_warn(
                "A metric logged with `prog_bar=True` is named 'v_num' and replaces the logger "
                "version in the progress bar; rename it or override `get_metrics()`."
            )
        return {**standard, **shown}

    # --- hooks ----------------------------------------------------------------------------
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._trainer = trainer
        if not getattr(trainer, "is_global_zero", True):
            self.disable()

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._train_batch_idx = 0
        self._fit_val_batches_done = 0

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._train_batch_idx = batch_idx + 1

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        self._val_batch_idx = 0
        self._counting_fit_val = _stage(trainer) == "fit" and not trainer.sanity_checking

    def on_validation_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._val_batch_idx = batch_idx + 1
        if self._counting_fit_val:
            self._fit_val_batches_done += 1

    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        self._test_batch_idx = 0

    def on_test_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._test_batch_idx = batch_idx + 1

    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        self._predict_batch_idx = 0

    def on_predict_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._predict_batch_idx = batch_idx + 1
