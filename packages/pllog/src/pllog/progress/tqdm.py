"""``TQDMProgressBar``: the default progress bar, drawn with tqdm on stdout.

The Trainer adds one unless ``enable_progress_bar=False``; pass your own to change it::

    trainer = Trainer(callbacks=[TQDMProgressBar(refresh_rate=10)])

``Tqdm`` (this module's attribute, built on first use so that importing pllog does not import
tqdm) is the bar class: a ``tqdm.tqdm`` whose postfix numbers are padded to a fixed width.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import sys
import time
from typing import Any

from pllog.progress.base import ProgressBar, _stage

__all__ = ["TQDMProgressBar", "convert_inf"]  # and `Tqdm`, built on first access

#: Postfix numbers are padded with zeros to this many characters, so that the bar does not jitter.
_PAD_SIZE = 5


def _pad_number(text: str, padded: bool) -> str:
    """``"0.5"`` -> ``"0.500"``, ``"3"`` -> ``"3.000"`` when ``padded``; exponents stay as they are."""
    if not padded or "e" in text:
        return text
    if "." not in text and len(text) < _PAD_SIZE:
        try:
            float(text)
        except ValueError:
            return text  # a short word (a version name): nothing to pad
        text += "."
    return text.ljust(_PAD_SIZE, "0")


@functools.cache
def _tqdm_class() -> type:
    """The ``Tqdm`` class: tqdm (its notebook flavour when ipywidgets is installed), padded."""
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm as base
    else:
        from tqdm import tqdm as base

    class Tqdm(base):  # type: ignore[misc, valid-type]
        """A tqdm bar whose float and string postfix values are padded to five characters."""

        @staticmethod
        def format_num(n: int | float | str) -> str:
            """tqdm's short number format, then padded (ints are shown as they are)."""
            text = n if isinstance(n, str) else base.format_num(n)
            return _pad_number(text, isinstance(n, (float, str)))

    Tqdm.__module__ = __name__
    Tqdm.__qualname__ = "Tqdm"
    return Tqdm


def __getattr__(name: str) -> Any:
    if name == "Tqdm":
        return _tqdm_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def convert_inf(x: int | float | None) -> int | float | None:
    """A bar total: None for an unknown (infinite or NaN) length, else ``x``.

    Args:
        x: a number of batches.
    """
    if x is None or math.isinf(x) or math.isnan(x):
        return None
    return x


def _update_n(bar: Any, value: int) -> None:
    if not bar.disable:
        bar.n = value
        bar.refresh()


class _Throttle:
    """Lets a redraw through at most every ``interval`` seconds (forced ones always pass)."""

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
    """Progress bars for sanity check, training, validation, test and predict, drawn with tqdm.

    The training bar is created as ``Training`` and reads ``Epoch N`` from the first epoch on; its
    total is the epoch's training batches (fewer in the last epoch that ``max_steps`` cuts short
    when ``max_epochs=-1``) and its postfix shows ``v_num`` and the metrics logged with
    ``prog_bar=True``. Each validation run gets a transient bar below it; evaluation bars read
    ``Validation DataLoader 0`` (``Sanity Checking``, ``Testing``, ``Predicting``), one round per
    dataloader. Bars write to stdout with tqdm, terminal or not, as Lightning's do.

    Bars are updated every ``refresh_rate`` batches and on the last batch. Reading and formatting
    the metrics for the postfix, and redrawing, cost more than a small model's step, so between
    two refresh points less than ``MIN_REDRAW_INTERVAL_S`` apart only the count moves; the last
    batch, the end of an epoch or of a validation run, closing a bar and an exception redraw.
    ``refresh_rate=0`` turns the bar off; the ``TQDM_MINITERS`` environment variable raises it.
    Only global rank 0 draws.

    Args:
        refresh_rate: update the bars every this many batches; 0 disables the bar.
        process_position: the bar's row offset, for running several trainings side by side.
        leave: keep each finished epoch's bar on screen instead of reusing one bar.
    """

    BAR_FORMAT = (
        "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]"
    )
    #: The least time between two redraws of a bar that are not forced.
    MIN_REDRAW_INTERVAL_S = 0.1

    def __init__(
        self, refresh_rate: int = 1, process_position: int = 0, leave: bool = False
    ) -> None:
        super().__init__()
        for arg, value in (("refresh_rate", refresh_rate), ("process_position", process_position)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"`{arg}` must be an int >= 0, got {value!r}.")
        self._refresh_rate = self._resolve_refresh_rate(refresh_rate)
        self._process_position = process_position
        self._leave = leave
        self._train_throttle = _Throttle(self.MIN_REDRAW_INTERVAL_S)
        self._eval_throttle = _Throttle(self.MIN_REDRAW_INTERVAL_S)
        self._redraw_pending = False  # the training bar's count moved on without a redraw
        self._train_progress_bar: Any = None
        self._val_progress_bar: Any = None
        self._test_progress_bar: Any = None
        self._predict_progress_bar: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # tqdm bars cannot be pickled (a spawned DDP worker gets a copy of the callbacks)
        return {k: (None if k.endswith("_progress_bar") else v) for k, v in vars(self).items()}

    @staticmethod
    def _resolve_refresh_rate(refresh_rate: int) -> int:
        if os.getenv("COLAB_GPU") and refresh_rate == 1:
            return 20  # Colab's output cell cannot keep up with a redraw every batch
        if "TQDM_MINITERS" in os.environ:
            return max(int(os.environ["TQDM_MINITERS"]), refresh_rate)
        return refresh_rate

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
    def _new_bar(self, desc: str, position: int, leave: bool, **kwargs: Any) -> Any:
        return _tqdm_class()(
            desc=desc,
            position=position,
            disable=self.is_disabled,
            leave=leave,
            dynamic_ncols=True,
            file=sys.stdout,
            bar_format=self.BAR_FORMAT,
            **kwargs,
        )

    def init_sanity_tqdm(self) -> Any:
        """The sanity-check bar (transient)."""
        return self._new_bar(self.sanity_check_description, 2 * self._process_position, False)

    def init_train_tqdm(self) -> Any:
        """The main bar of fit."""
        return self._new_bar(self.train_description, 2 * self._process_position, True, smoothing=0)

    def init_predict_tqdm(self) -> Any:
        """The predict bar."""
        return self._new_bar(
            self.predict_description, 2 * self._process_position, True, smoothing=0
        )

    def init_validation_tqdm(self) -> Any:
        """The validation bar: below the main bar during fit (transient), on its own for validate."""
        has_main_bar = _stage(self.trainer) != "validate"
        position = 2 * self._process_position + int(has_main_bar)
        return self._new_bar(self.validation_description, position, not has_main_bar)

    def init_test_tqdm(self) -> Any:
        """The test bar."""
        return self._new_bar("Testing", 2 * self._process_position, True)

    def _should_update(self, current: int, total: int | float | None) -> bool:
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

    def _update_eval_bar(self, bar: Any, n: int) -> None:
        """Show count ``n``; between redraws closer than the throttle allows, only count (closing
        the bar, its last batch and an exception draw the count)."""
        if self._eval_throttle.due(force=n == bar.total):
            _update_n(bar, n)
        else:
            bar.n = n

    def _start_round(self, bar: Any, total: int | float | None, desc: str) -> None:
        """Reset ``bar`` for a new epoch or dataloader: count from 0 to ``total`` under ``desc``."""
        bar.reset()
        bar.total = convert_inf(total)
        bar.initial = 0
        bar.set_description(desc)

    # --- sanity check ---------------------------------------------------------------------
    def on_sanity_check_start(self, trainer: Any, pl_module: Any) -> None:
        self.val_progress_bar = self.init_sanity_tqdm()
        self.train_progress_bar = _tqdm_class()(disable=True)  # nothing to train yet

    def on_sanity_check_end(self, trainer: Any, pl_module: Any) -> None:
        self.val_progress_bar.close()
        self.train_progress_bar.close()

    # --- training -------------------------------------------------------------------------
    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self.train_progress_bar = self.init_train_tqdm()

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        if self._leave:
            self.train_progress_bar = self.init_train_tqdm()
        self._start_round(
            self.train_progress_bar, self.total_train_batches, f"Epoch {trainer.current_epoch}"
        )

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._train_batch_idx = n = batch_idx + 1  # what the base class counts
        bar = self._train_progress_bar
        if bar is None or not self._should_update(n, bar.total):
            return
        if not self._train_throttle.due(force=n == bar.total):
            bar.n = n  # shown by the next redraw
            self._redraw_pending = True
            return
        self._redraw_pending = False
        _update_n(bar, n)
        bar.set_postfix(self.get_metrics(trainer, pl_module))

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        bar = self.train_progress_bar
        self._redraw_pending = False
        if not bar.disable:
            bar.set_postfix(self.get_metrics(trainer, pl_module))
        if self._leave:
            bar.close()

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.train_progress_bar.close()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        # The bars stay open, as under Lightning; a count the time throttle has not drawn yet is
        # drawn, so that the bar shows the batch the run stopped at.
        bar = self._train_progress_bar
        if self._redraw_pending and bar is not None and not bar.disable:
            self._redraw_pending = False
            bar.set_postfix(self.get_metrics(trainer, pl_module))
        for bar in (self._val_progress_bar, self._test_progress_bar, self._predict_progress_bar):
            if bar is not None and not bar.disable:
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
        desc = (
            self.sanity_check_description
            if trainer.sanity_checking
            else self.validation_description
        )
        self._start_round(
            self.val_progress_bar,
            self.total_val_batches_current_dataloader,
            f"{desc} DataLoader {dataloader_idx}",
        )

    def on_validation_batch_end(
        self,
        trainer: Any,
        pl_module: Any,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._val_batch_idx = n = batch_idx + 1
        bar = self._val_progress_bar
        if bar is not None and self._should_update(n, bar.total):
            self._update_eval_bar(bar, n)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        self.val_progress_bar.close()
        self.reset_dataloader_idx_tracker()
        if self._train_progress_bar is not None and _stage(trainer) == "fit":
            self.train_progress_bar.set_postfix(self.get_metrics(trainer, pl_module))

    # --- test -----------------------------------------------------------------------------
    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_test_start(trainer, pl_module)
        self.test_progress_bar = self.init_test_tqdm()

    def on_test_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if not self.has_dataloader_changed(dataloader_idx):
            return
        self._start_round(
            self.test_progress_bar,
            self.total_test_batches_current_dataloader,
            f"{self.test_description} DataLoader {dataloader_idx}",
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
        self._test_batch_idx = n = batch_idx + 1
        bar = self._test_progress_bar
        if bar is not None and self._should_update(n, bar.total):
            self._update_eval_bar(bar, n)

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
        self._start_round(
            self.predict_progress_bar,
            self.total_predict_batches_current_dataloader,
            f"{self.predict_description} DataLoader {dataloader_idx}",
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
        self._predict_batch_idx = n = batch_idx + 1
        bar = self._predict_progress_bar
        if bar is not None and self._should_update(n, bar.total):
            self._update_eval_bar(bar, n)

    def on_predict_end(self, trainer: Any, pl_module: Any) -> None:
        self.predict_progress_bar.close()
        self.reset_dataloader_idx_tracker()
