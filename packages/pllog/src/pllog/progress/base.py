"""``ProgressBar``: the base class of progress-bar callbacks, with the bookkeeping every bar needs.

It knows how many batches each stage will run (from the Trainer's ``num_*_batches``), counts the
batches done, and collects the metrics to show (``trainer.progress_bar_metrics`` and ``v_num``).
A subclass draws; see :class:`pllog.progress.tqdm.TQDMProgressBar`. A subclass that overrides a
``*_batch_end`` or ``on_*_start`` hook calls ``super()`` so the counters stay right.
"""

from __future__ import annotations

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
        """Training batches this epoch; ``inf`` for an iterable dataset of unknown length.

        With ``max_epochs=-1`` and ``max_steps`` set, it is at most the steps still to run.
        """
        trainer = self.trainer
        max_steps = getattr(trainer, "max_steps", None)
        if getattr(trainer, "max_epochs", None) == -1 and max_steps is not None and max_steps > 0:
            return min(trainer.num_training_batches, max_steps - trainer.global_step)
        return trainer.num_training_batches

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
        """Batches of one validation run over all val dataloaders, 0 in an epoch that skips it.

        An epoch validates unless ``check_val_every_n_epoch`` skips it (``None``: validation is
        counted in training batches across epochs, and every epoch counts as validating).
        """
        trainer = self.trainer
        every_n = getattr(trainer, "check_val_every_n_epoch", 1)
        if every_n is not None and (trainer.current_epoch + 1) % every_n != 0:
            return 0
        return sum(_as_list(getattr(trainer, "num_val_batches", None)))

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
        """The values to show: ``v_num`` (the loggers' version) then ``trainer.progress_bar_metrics``.

        ``v_num`` is the logger's version (several loggers: their distinct versions joined by
        ``_``), the last four characters of a string version. Override it to add or hide
        entries, e.g. ``items.pop("v_num", None)``.

        Args:
            trainer: the Trainer.
            pl_module: the LightningModule.
        """
        standard: dict[str, Any] = {}
        loggers = getattr(trainer, "loggers", None)
        if loggers:
            if len(loggers) == 1:
                version = loggers[0].version
            else:
                version = "_".join(dict.fromkeys(str(lg.version) for lg in loggers))
            if version is not None and version != "":
                standard["v_num"] = version[-4:] if isinstance(version, str) else version
        shown = trainer.progress_bar_metrics
        duplicates = list(standard.keys() & shown.keys())
        if duplicates:
            rank_zero_warn(
                f"The progress bar already tracks a metric with the name(s) '{', '.join(duplicates)}'"
                f" and `self.log('{duplicates[0]}', ..., prog_bar=True)` will overwrite this value. "
                " If this is undesired, change the name or override `get_metrics()` in the progress"
                " bar callback.",
            )
        return {**standard, **shown}

    # --- hooks ----------------------------------------------------------------------------
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._trainer = trainer
        if not getattr(trainer, "is_global_zero", True):
            self.disable()

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._train_batch_idx = 0

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._train_batch_idx = batch_idx + 1

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        self._val_batch_idx = 0

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
