"""``TQDMProgressBar``: the default progress bar, drawn with tqdm on a terminal.

The Trainer adds one unless ``enable_progress_bar=False``; pass your own to change it::

    trainer = Trainer(callbacks=[TQDMProgressBar(refresh_rate=10)])
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from typing import IO, Any

from pllog._params import to_number
from pllog.progress._line import LineBar
from pllog.progress.base import ProgressBar, _as_list, _stage

__all__ = ["TQDMProgressBar"]


def _as_total(value: int | float | None) -> int | None:
    """A bar total: None for unknown / infinite lengths."""
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return None
    return int(value)


def _format_value(value: Any) -> str:
    value = to_number(value)
    if isinstance(value, float) and math.isfinite(value):
        magnitude = abs(value)
        # A fixed number of decimals keeps the bar from jittering as the loss changes.
        return f"{value:.3f}" if magnitude == 0 or 1e-3 <= magnitude < 1e4 else f"{value:.2e}"
    return str(value)


def format_metrics(metrics: Mapping[str, Any]) -> str:
    """``"v_num=0, loss=0.693"``: the postfix text for a bar.

    Args:
        metrics: what :meth:`ProgressBar.get_metrics` returned.
    """
    return ", ".join(f"{key}={_format_value(value)}" for key, value in metrics.items())


def _is_interactive(stream: Any) -> bool:
    """A terminal, or a Jupyter/IPython kernel (not a tty, but it renders ``"\\r"`` updates)."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError, OSError):
        return False
    return "ipykernel" in sys.modules


def _update_n(bar: Any, n: int) -> None:
    bar.n = n
    bar.refresh()


class _Throttle:
    """Allows a redraw at most every ``interval`` seconds (forced draws always pass)."""

    __slots__ = ("interval", "next_at")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next_at = 0.0

    def due(self, force: bool) -> bool:
        now = time.monotonic()
        if not force and now < self.next_at:
            return False
        self.next_at = now + self.interval
        return True


class TQDMProgressBar(ProgressBar):
    """Progress bars for sanity check, training, validation, test and predict (tqdm on a terminal).

    The training bar reads ``Epoch N``; its total is the epoch's training batches plus the
    validation batches run during the epoch, and its postfix shows ``v_num`` and the metrics
    logged with ``prog_bar=True``. Validation gets a second, transient bar below it.

    Bars are updated every ``refresh_rate`` batches and on the last batch, so the final count is
    always shown; other batches cost one modulo. ``refresh_rate=0`` turns the bar off.

    When ``sys.stderr`` is not a terminal (CI, ``nohup``, output redirected to a file) tqdm's
    carriage-return redraws would pile up in the log, so plain lines are printed instead: one per
    epoch (and per test / predict run) with the final counts and metrics, plus, during an epoch
    longer than ``LINE_INTERVAL_S`` seconds, an in-progress line at most that often. Jupyter
    kernels count as terminals. Only global rank 0 prints.

    Args:
        refresh_rate: update the bars every this many batches; 0 disables the bar.
        process_position: the bar's row offset, for running several trainings side by side.
        leave: keep each finished epoch's bar on screen instead of reusing one bar.
    """

    BAR_FORMAT = (
        "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]"
    )
    LINE_INTERVAL_S = 30.0
    #: A terminal bar redraws at most this often (the last batch and epoch ends always redraw).
    MIN_REDRAW_INTERVAL_S = 0.1

    def __init__(
        self, refresh_rate: int = 1, process_position: int = 0, leave: bool = False
    ) -> None:
        super().__init__()
        for arg, value in (("refresh_rate", refresh_rate), ("process_position", process_position)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"`{arg}` must be an int >= 0, got {value!r}.")
        self._refresh_rate = refresh_rate
        self._main_throttle = _Throttle(self.MIN_REDRAW_INTERVAL_S)
        self._eval_throttle = _Throttle(self.MIN_REDRAW_INTERVAL_S)
        self._process_position = process_position
        self._leave = bool(leave)
        self._train_progress_bar: Any = None
        self._val_progress_bar: Any = None
        self._test_progress_bar: Any = None
        self._predict_progress_bar: Any = None
        # Training batches this epoch, and batches of the evaluation dataloader being run: the
        # last batch of each always refreshes the bar.
        self._train_total: int | None = None
        self._eval_total: int | None = None

    @property
    def refresh_rate(self) -> int:
        return self._refresh_rate

    @property
    def process_position(self) -> int:
        return self._process_position

    @property
    def is_enabled(self) -> bool:
        return self._enabled and self._refresh_rate > 0

    def _bar(self, name: str) -> Any:
        bar = getattr(self, f"_{name}_progress_bar")
        if bar is None:
            raise TypeError(
                f"The `{type(self).__name__}._{name}_progress_bar` reference has not been set yet."
            )
        return bar

    @property
    def train_progress_bar(self) -> Any:
        return self._bar("train")

    @train_progress_bar.setter
    def train_progress_bar(self, bar: Any) -> None:
        self._train_progress_bar = bar

    @property
    def val_progress_bar(self) -> Any:
        return self._bar("val")

    @val_progress_bar.setter
    def val_progress_bar(self, bar: Any) -> None:
        self._val_progress_bar = bar

    @property
    def test_progress_bar(self) -> Any:
        return self._bar("test")

    @test_progress_bar.setter
    def test_progress_bar(self, bar: Any) -> None:
        self._test_progress_bar = bar

    @property
    def predict_progress_bar(self) -> Any:
        return self._bar("predict")

    @predict_progress_bar.setter
    def predict_progress_bar(self, bar: Any) -> None:
        self._predict_progress_bar = bar

    # --- bar factories (override to customise) --------------------------------------------
    def _new_bar(self, desc: str, position: int, leave: bool) -> Any:
        stream: IO[str] = sys.stderr  # looked up now, so a redirected stderr is honoured
        if self.is_disabled or not _is_interactive(stream):
            return LineBar(
                desc,
                leave=leave,
                disable=self.is_disabled,
                file=stream,
                interval_s=self.LINE_INTERVAL_S,
            )
        from tqdm import tqdm

        return tqdm(
            desc=desc,
            position=position,
            leave=leave,
            dynamic_ncols=True,
            file=stream,
            smoothing=0,
            bar_format=self.BAR_FORMAT,
        )

    def init_sanity_tqdm(self) -> Any:
        """The sanity-check bar (transient)."""
        return self._new_bar(self.sanity_check_description, 2 * self._process_position, leave=False)

    def init_train_tqdm(self) -> Any:
        """The main bar of fit."""
        return self._new_bar(self.train_description, 2 * self._process_position, leave=True)

    def init_validation_tqdm(self) -> Any:
        """The validation bar: below the main bar during fit (transient), on its own for validate."""
        has_main_bar = _stage(self.trainer) != "validate"
        position = 2 * self._process_position + int(has_main_bar)
        return self._new_bar(self.validation_description, position, leave=not has_main_bar)

    def init_test_tqdm(self) -> Any:
        """The test bar."""
        return self._new_bar(self.test_description, 2 * self._process_position, leave=True)

    def init_predict_tqdm(self) -> Any:
        """The predict bar."""
        return self._new_bar(self.predict_description, 2 * self._process_position, leave=True)

    def _should_update(self, current: int, total: int | None) -> bool:
        return self.is_enabled and (current % self._refresh_rate == 0 or current == total)

    def print(self, *args: Any, sep: str = " ", **kwargs: Any) -> None:
        """Print above the active bar (``tqdm.write``), so the bar is redrawn below the text.

        Args:
            *args: the values to print.
            sep: joins the values.
            **kwargs: passed to the bar's ``write`` (e.g. ``end``).
        """
        bars = (
            self._train_progress_bar,
            self._val_progress_bar,
            self._test_progress_bar,
            self._predict_progress_bar,
        )
        for bar in bars:
            if bar is not None and not bar.disable:
                bar.write(sep.join(map(str, args)), **kwargs)
                return

    # --- sanity check ---------------------------------------------------------------------
    def on_sanity_check_start(self, trainer: Any, pl_module: Any) -> None:
        self.val_progress_bar = self.init_sanity_tqdm()

    def on_sanity_check_end(self, trainer: Any, pl_module: Any) -> None:
        self.val_progress_bar.close()
        self.reset_dataloader_idx_tracker()

    # --- training -------------------------------------------------------------------------
    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if not self._leave:
            self.train_progress_bar = self.init_train_tqdm()  # one bar, reset every epoch

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        if self._leave or self._train_progress_bar is None:
            if self._train_progress_bar is not None:
                self._train_progress_bar.close()
            self.train_progress_bar = self.init_train_tqdm()
        train, val = self.total_train_batches, self.total_val_batches
        self._train_total = _as_total(train)
        bar = self.train_progress_bar
        bar.reset(_as_total(train + val))
        bar.initial = 0
        bar.set_description(f"Epoch {trainer.current_epoch}")

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._train_batch_idx = current = batch_idx + 1  # what the base class counts
        last = current == self._train_total
        # Cheapest test first: most batches fall between two redraws and end here.
        if not last and time.monotonic() < self._main_throttle.next_at:
            return
        if self._should_update(current, self._train_total):
            self._refresh_main_bar(trainer, pl_module, force=last)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self._train_progress_bar is not None:
            self._refresh_main_bar(trainer, pl_module)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self._train_progress_bar is not None:
            self._train_progress_bar.close()

    def _refresh_main_bar(
        self, trainer: Any, pl_module: Any, with_metrics: bool = True, force: bool = True
    ) -> None:
        bar = self.train_progress_bar
        if bar.disable:
            return
        bar.n = self.train_batch_idx + self._fit_val_batches_done
        # Formatting metrics (which reads them from the device) and redrawing cost far more than
        # a training step of a small model: do it at most every MIN_REDRAW_INTERVAL_S.
        if not self._main_throttle.due(force):
            return
        if with_metrics:
            bar.set_postfix_str(format_metrics(self.get_metrics(trainer, pl_module)), refresh=False)
        bar.refresh()

    # --- validation -----------------------------------------------------------------------
    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_validation_start(trainer, pl_module)
        if not trainer.sanity_checking:
            self.val_progress_bar = self.init_validation_tqdm()

    def on_validation_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if not self.has_dataloader_changed(dataloader_idx):
            return
        self._eval_total = _as_total(self.total_val_batches_current_dataloader)
        loaders = (
            trainer.num_sanity_val_batches if trainer.sanity_checking else trainer.num_val_batches
        )
        desc = (
            self.sanity_check_description
            if trainer.sanity_checking
            else self.validation_description
        )
        self._start_eval_round(self.val_progress_bar, desc, loaders, dataloader_idx)

    def on_validation_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        super().on_validation_batch_end(
            trainer, pl_module, outputs, batch, batch_idx, dataloader_idx
        )
        current = batch_idx + 1
        if not self._should_update(current, self._eval_total):
            return
        if not self._eval_throttle.due(current == self._eval_total):
            self.val_progress_bar.n = current
            return
        _update_n(self.val_progress_bar, current)
        if self._counting_fit_val and self._train_progress_bar is not None:
            self._refresh_main_bar(trainer, pl_module, with_metrics=False)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if self._counting_fit_val and self._train_progress_bar is not None:
            self._refresh_main_bar(trainer, pl_module)  # show the new validation metrics
        self.val_progress_bar.close()
        self.reset_dataloader_idx_tracker()

    # --- test -----------------------------------------------------------------------------
    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_test_start(trainer, pl_module)
        self.test_progress_bar = self.init_test_tqdm()

    def on_test_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if not self.has_dataloader_changed(dataloader_idx):
            return
        self._eval_total = _as_total(self.total_test_batches_current_dataloader)
        self._start_eval_round(
            self.test_progress_bar, self.test_description, trainer.num_test_batches, dataloader_idx
        )

    def on_test_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        super().on_test_batch_end(trainer, pl_module, outputs, batch, batch_idx, dataloader_idx)
        if self._should_update(batch_idx + 1, self._eval_total):
            _update_n(self.test_progress_bar, batch_idx + 1)

    def on_test_end(self, trainer: Any, pl_module: Any) -> None:
        self.test_progress_bar.close()
        self.reset_dataloader_idx_tracker()

    # --- predict --------------------------------------------------------------------------
    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_predict_start(trainer, pl_module)
        self.predict_progress_bar = self.init_predict_tqdm()

    def on_predict_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if not self.has_dataloader_changed(dataloader_idx):
            return
        self._eval_total = _as_total(self.total_predict_batches_current_dataloader)
        self._start_eval_round(
            self.predict_progress_bar,
            self.predict_description,
            trainer.num_predict_batches,
            dataloader_idx,
        )

    def on_predict_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        super().on_predict_batch_end(trainer, pl_module, outputs, batch, batch_idx, dataloader_idx)
        if self._should_update(batch_idx + 1, self._eval_total):
            _update_n(self.predict_progress_bar, batch_idx + 1)

    def on_predict_end(self, trainer: Any, pl_module: Any) -> None:
        self.predict_progress_bar.close()
        self.reset_dataloader_idx_tracker()

    def _start_eval_round(self, bar: Any, desc: str, loaders: Any, dataloader_idx: int) -> None:
        """Reset ``bar`` for a new dataloader; with several loaders the description names it."""
        bar.reset(self._eval_total)
        bar.initial = 0
        if len(_as_list(loaders)) > 1:
            desc = f"{desc} DataLoader {dataloader_idx}"
        bar.set_description(desc)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        # Close open bars so the traceback starts on a clean line.
        for bar in (
            self._val_progress_bar,
            self._test_progress_bar,
            self._predict_progress_bar,
            self._train_progress_bar,
        ):
            if bar is not None:
                bar.close()
