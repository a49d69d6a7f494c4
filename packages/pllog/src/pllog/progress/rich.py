"""``RichProgressBar``: progress bars drawn with rich (``pip install 'pllog[rich]'``).

::

    from pllog import RichProgressBar

    trainer = Trainer(callbacks=[RichProgressBar(leave=True)])

rich is imported when the bar is built (``import pllog`` does not load it). The bars live on
rich's global console (``console_kwargs`` reconfigure it, as in Lightning): in a terminal they are
redrawn at most ``refresh_rate`` times a second, and only after something changed; elsewhere (a
file, a CI log) rich prints them once, as they stand when the bar stops at the end of the run.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from pllog.progress.base import ProgressBar

__all__ = ["RichProgressBar", "RichProgressBarTheme"]


@dataclass
class RichProgressBarTheme:
    """Styles of the parts of the bar (rich style strings or ``rich.style.Style`` objects).

    Args:
        description: the bar's label ("Epoch 0/9", "Validation", ...).
        progress_bar: the bar while it runs.
        progress_bar_finished: the bar once done.
        progress_bar_pulse: the bar of a loader without a length.
        batch_progress: the "3/10" counter.
        time: elapsed and remaining time.
        processing_speed: the "it/s" figure.
        metrics: the metrics text of the training bar.
        metrics_text_delimiter: between two metrics.
        metrics_format: the format spec of numbers in the metrics text.
    """

    description: Any = ""
    progress_bar: Any = "#6206E0"
    progress_bar_finished: Any = "#6206E0"
    progress_bar_pulse: Any = "#6206E0"
    batch_progress: Any = ""
    time: Any = "dim"
    processing_speed: Any = "dim underline"
    metrics: Any = "italic"
    metrics_text_delimiter: str = " "
    metrics_format: str = ".3f"


def _require_rich() -> None:
    import importlib.util

    if importlib.util.find_spec("rich") is None:
        raise ModuleNotFoundError(
            "`RichProgressBar` requires `rich` >= 10.2.2. Install it with"
            " `pip install 'pllog[rich]'` (or `pip install -U rich`)."
        )


@functools.cache
def _rich() -> SimpleNamespace:
    """The rich pieces, built on first use: columns that know infinite totals, and a Progress
    redrawn by a thread only after an update."""
    from rich import get_console, reconfigure
    from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn
    from rich.progress_bar import ProgressBar as Bar
    from rich.text import Text

    def remaining_of(task: Any) -> float | None:
        total = task.total
        if total is None or not math.isfinite(total):
            return None
        return task.time_remaining

    class AnyTotalBarColumn(BarColumn):
        """A bar that pulses while a loader of unknown length runs."""

        def render(self, task: Any) -> Any:
            total = task.total if task.total is not None else 0
            return Bar(
                total=max(0, total),
                completed=max(0, task.completed),
                width=None if self.bar_width is None else max(1, self.bar_width),
                pulse=not task.started or not math.isfinite(total),
                animation_time=task.get_time(),
                style=self.style,
                complete_style=self.complete_style,
                finished_style=self.finished_style,
                pulse_style=self.pulse_style,
            )

    class TimeColumn(ProgressColumn):
        """``elapsed • remaining``, refreshed twice a second."""

        max_refresh = 0.5

        def __init__(self, style: Any) -> None:
            self.style = style
            super().__init__()

        def render(self, task: Any) -> Any:
            elapsed = task.finished_time if task.finished else task.elapsed
            remaining = remaining_of(task)
            shown = [
                "-:--:--" if t is None else str(timedelta(seconds=int(t)))
                for t in (elapsed, remaining)
            ]
            return Text(f"{shown[0]} • {shown[1]}", style=self.style)

    class BatchesColumn(ProgressColumn):
        """``done/total`` (``--`` for an unknown total)."""

        def __init__(self, style: Any) -> None:
            self.style = style
            super().__init__()

        def render(self, task: Any) -> Any:
            total = task.total if task.total != math.inf else "--"
            return Text(f"{int(task.completed)}/{total}", style=self.style)

    class SpeedColumn(ProgressColumn):
        """Batches per second."""

        def __init__(self, style: Any) -> None:
            self.style = style
            super().__init__()

        def render(self, task: Any) -> Any:
            speed = f"{task.speed:>.2f}" if task.speed is not None else "0.00"
            return Text(f"{speed}it/s", style=self.style)

    class MetricsColumn(ProgressColumn):
        """The metrics, on the training bar of fit only; set by :meth:`update` from the loop's
        thread so that drawing never reads the trainer."""

        def __init__(self, bar: RichProgressBar, style: Any, delimiter: str, fmt: str) -> None:
            self._bar = bar
            self._style = style
            self._delimiter = delimiter
            self._format = fmt
            self._text = ""
            super().__init__()

        def update(self, metrics: dict[str, Any]) -> None:
            parts = []
            for name, value in metrics.items():
                if not isinstance(value, str):
                    try:
                        value = f"{value:{self._format}}"
                    except (TypeError, ValueError):
                        value = str(value)
                parts.append(f"{name}: {value}")
            self._text = self._delimiter.join(parts)

        def render(self, task: Any) -> Any:
            if not self._bar._shows_metrics(task.id):
                return Text()
            return Text(self._text, justify="left", style=self._style)

    class Redrawer(threading.Thread):
        """Redraws the progress at most ``rate`` times a second, only when asked to."""

        def __init__(self, progress: Any, rate: float) -> None:
            super().__init__(name="pllog-rich-redraw", daemon=True)
            self.progress = progress
            self.interval = 1.0 / rate
            self.pending = False
            self.done = threading.Event()

        def run(self) -> None:
            while not self.done.wait(self.interval):
                if self.pending:
                    self.pending = False
                    self.progress.refresh()

    class LazyProgress(Progress):
        """A Progress without rich's constant redraw: :meth:`soft_refresh` asks for one."""

        def __init__(self, *columns: Any, refresh_per_second: float, **kwargs: Any) -> None:
            super().__init__(*columns, auto_refresh=False, **kwargs)
            self._rate = refresh_per_second
            self._redrawer: Redrawer | None = None

        def start(self) -> None:
            super().start()
            if not self.disable:
                self._redrawer = Redrawer(self, self._rate)
                self._redrawer.start()

        def stop(self) -> None:
            redrawer, self._redrawer = self._redrawer, None
            if redrawer is not None:
                redrawer.done.set()
                redrawer.join()
            super().stop()

        def soft_refresh(self) -> None:
            if self._redrawer is not None:
                self._redrawer.pending = True

    return SimpleNamespace(
        get_console=get_console,
        reconfigure=reconfigure,
        TextColumn=TextColumn,
        AnyTotalBarColumn=AnyTotalBarColumn,
        TimeColumn=TimeColumn,
        BatchesColumn=BatchesColumn,
        SpeedColumn=SpeedColumn,
        MetricsColumn=MetricsColumn,
        LazyProgress=LazyProgress,
    )


def _interactive() -> bool:
    import sys

    return hasattr(sys, "ps1") or bool(getattr(sys.flags, "interactive", False))


class RichProgressBar(ProgressBar):
    """Progress bars for sanity check, training, validation, test and predict, drawn with rich.

    One rich display holds the bars: the training bar ("Epoch 3/9", padded to the width of
    "Validation") with the metrics logged with ``prog_bar=True`` and ``v_num`` after it, a bar per
    validation / test / predict dataloader below it (validation bars are hidden again when the
    validation ends, during fit). With ``leave=True`` each epoch's bar stays on screen.

    The metrics are read from the trainer at most ``refresh_rate`` times a second (they would
    not be drawn more often) and at every epoch and validation end; Lightning reads them after
    every batch, which waits for the device each time.

    Args:
        refresh_rate: the most redraws per second; 0 disables the bar.
        leave: keep each finished epoch's bar.
        theme: the styles (:class:`RichProgressBarTheme`).
        console_kwargs: passed to ``rich.reconfigure`` for rich's global console (e.g.
            ``{"force_terminal": True, "width": 100}``).

    Raises:
        ModuleNotFoundError: if rich is not installed.
    """

    def __init__(
        self,
        refresh_rate: int = 100,
        leave: bool = False,
        theme: RichProgressBarTheme | None = None,
        console_kwargs: dict[str, Any] | None = None,
    ) -> None:
        _require_rich()
        super().__init__()
        self._refresh_rate = refresh_rate
        self._leave = leave
        self._console: Any = None
        self._console_kwargs = console_kwargs or {}
        self.progress: Any = None
        self._metric_component: Any = None
        self._progress_stopped = False
        self._next_metrics_at = 0.0
        self.theme = theme if theme is not None else RichProgressBarTheme()
        self._reset_progress_bar_ids()

    def __getstate__(self) -> dict[str, Any]:
        # rich's console and live display hold locks, which do not pickle (spawned DDP ranks)
        state = dict(vars(self))
        state["progress"] = None
        state["_console"] = None
        state["_metric_component"] = None
        return state

    @property
    def refresh_rate(self) -> float:
        return self._refresh_rate

    @property
    def is_enabled(self) -> bool:
        return self._enabled and self._refresh_rate > 0

    # --- the tasks (rich's name for a bar) ------------------------------------------------------
    def _task(self, task_id: Any) -> Any:
        if self.progress is None or task_id is None:
            raise TypeError(f"The `{type(self).__name__}` bar has not been set up yet.")
        return self.progress.tasks[task_id]

    @property
    def train_progress_bar(self) -> Any:
        """The training bar's ``rich.progress.Task``."""
        return self._task(self.train_progress_bar_id)

    @property
    def val_sanity_check_bar(self) -> Any:
        return self._task(self.val_sanity_progress_bar_id)

    @property
    def val_progress_bar(self) -> Any:
        return self._task(self.val_progress_bar_id)

    @property
    def test_progress_bar(self) -> Any:
        return self._task(self.test_progress_bar_id)

    def _reset_progress_bar_ids(self) -> None:
        self.train_progress_bar_id: Any = None
        self.val_sanity_progress_bar_id: Any = None
        self.val_progress_bar_id: Any = None
        self.test_progress_bar_id: Any = None
        self.predict_progress_bar_id: Any = None

    def _shows_metrics(self, task_id: Any) -> bool:
        """Whether the task drawn is the training bar of fit (only it shows metrics)."""
        trainer = self._trainer
        return (
            trainer is not None
            and str(getattr(trainer.state.fn, "value", trainer.state.fn)) == "fit"
            and not trainer.sanity_checking
            and task_id == self.train_progress_bar_id
        )

    # --- the display ----------------------------------------------------------------------------
    def _init_progress(self, trainer: Any) -> None:
        if not self.is_enabled or (self.progress is not None and not self._progress_stopped):
            return
        parts = _rich()
        self._reset_progress_bar_ids()
        parts.reconfigure(**self._console_kwargs)
        self._console = parts.get_console()
        _clear_live(self._console)  # a display left by an interrupted run
        theme = self.theme
        self._metric_component = parts.MetricsColumn(
            self, theme.metrics, theme.metrics_text_delimiter, theme.metrics_format
        )
        self.progress = parts.LazyProgress(
            *self.configure_columns(trainer),
            self._metric_component,
            refresh_per_second=self._refresh_rate,
            disable=self.is_disabled,
            console=self._console,
        )
        self.progress.start()
        self._progress_stopped = False

    def configure_columns(self, trainer: Any) -> list[Any]:
        """The columns left of the metrics; override to change them.

        Args:
            trainer: the Trainer.
        """
        parts, theme = _rich(), self.theme
        return [
            parts.TextColumn("[progress.description]{task.description}"),
            parts.AnyTotalBarColumn(
                complete_style=theme.progress_bar,
                finished_style=theme.progress_bar_finished,
                pulse_style=theme.progress_bar_pulse,
            ),
            parts.BatchesColumn(style=theme.batch_progress),
            parts.TimeColumn(style=theme.time),
            parts.SpeedColumn(style=theme.processing_speed),
        ]

    def refresh(self, hard: bool = False) -> None:
        """Ask for a redraw (``hard``: now, in this thread)."""
        if self.progress is None:
            return
        if hard or _interactive():
            self.progress.refresh()
        else:
            self.progress.soft_refresh()

    def _stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self._progress_stopped = True

    def _add_task(self, total: int | float, description: str, visible: bool = True) -> Any:
        style = self.theme.description
        label = f"[{style}]{description}" if style else description
        return self.progress.add_task(label, total=total, visible=visible)

    def _replace_task(
        self, task_id: Any, total: int | float, description: str, visible: bool = True
    ) -> Any:
        """Hide ``task_id`` (a loader's finished bar) and add the next loader's: its id."""
        self._hide(task_id)
        return self._add_task(total, description, visible=visible)

    def _hide(self, task_id: Any) -> None:
        if self.progress is not None and task_id is not None:
            self.progress.update(task_id, advance=0, visible=False)

    def _update(self, task_id: Any, current: int, visible: bool = True) -> None:
        if self.progress is not None and self.is_enabled and task_id is not None:
            self.progress.update(task_id, completed=current, visible=visible)
            self.refresh()

    def _get_train_description(self, current_epoch: int) -> str:
        text = f"Epoch {current_epoch}"
        if self.trainer.max_epochs is not None:
            text += f"/{self.trainer.max_epochs - 1}"
        width = len(self.validation_description)
        return f"{text:{width}}" if width > len(text) else text

    # --- metrics --------------------------------------------------------------------------------
    def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
        """The base class's metrics with tensors as Python numbers (what rich formats)."""
        items = super().get_metrics(trainer, pl_module)
        return {
            k: v.item() if hasattr(v, "item") and hasattr(v, "dim") else v for k, v in items.items()
        }

    def _update_metrics(self, trainer: Any, pl_module: Any, force: bool = True) -> None:
        if not self.is_enabled or self._metric_component is None:
            return
        if not force:  # between two redraws a new value would never be seen
            now = time.monotonic()
            if now < self._next_metrics_at:
                return
            self._next_metrics_at = now + 1.0 / self._refresh_rate
        self._metric_component.update(self.get_metrics(trainer, pl_module))

    # --- hooks ----------------------------------------------------------------------------------
    def on_sanity_check_start(self, trainer: Any, pl_module: Any) -> None:
        self._init_progress(trainer)

    def on_sanity_check_end(self, trainer: Any, pl_module: Any) -> None:
        self._hide(self.val_sanity_progress_bar_id)
        self.refresh()

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._init_progress(trainer)

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        if self.is_disabled:
            return
        total = self.total_train_batches
        description = self._get_train_description(trainer.current_epoch)
        if self.train_progress_bar_id is not None and self._leave:
            self._stop_progress()
            self._init_progress(trainer)
        if self.progress is not None:
            if self.train_progress_bar_id is None:
                self.train_progress_bar_id = self._add_task(total, description)
            else:
                self.progress.reset(
                    self.train_progress_bar_id, total=total, description=description, visible=True
                )
        self.refresh()

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._train_batch_idx = batch_idx + 1
        if self.is_disabled:
            return
        if self.train_progress_bar_id is None:  # a fit resumed inside an epoch
            self.train_progress_bar_id = self._add_task(
                self.total_train_batches, self._get_train_description(trainer.current_epoch)
            )
        self._update(self.train_progress_bar_id, batch_idx + 1)
        self._update_metrics(trainer, pl_module, force=False)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._update_metrics(trainer, pl_module)
        self.refresh()

    def on_validation_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_validation_start(trainer, pl_module)
        self._init_progress(trainer)

    def on_validation_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if self.is_disabled or not self.has_dataloader_changed(dataloader_idx):
            return
        total = self.total_val_batches_current_dataloader
        if trainer.sanity_checking:
            self.val_sanity_progress_bar_id = self._replace_task(
                self.val_sanity_progress_bar_id, total, self.sanity_check_description, False
            )
        else:
            self.val_progress_bar_id = self._replace_task(
                self.val_progress_bar_id, total, self.validation_description, False
            )
        self.refresh()

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
        if self.is_disabled:
            return
        task = (
            self.val_sanity_progress_bar_id if trainer.sanity_checking else self.val_progress_bar_id
        )
        self._update(task, batch_idx + 1)

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.is_enabled and self.val_progress_bar_id is not None and _is_fit(trainer):
            self._hide(self.val_progress_bar_id)
            self.refresh()

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if _is_fit(trainer):
            self._update_metrics(trainer, pl_module)
        self.reset_dataloader_idx_tracker()

    def on_test_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_test_start(trainer, pl_module)
        self._init_progress(trainer)

    def on_test_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if self.is_disabled or not self.has_dataloader_changed(dataloader_idx):
            return
        self.test_progress_bar_id = self._replace_task(
            self.test_progress_bar_id,
            self.total_test_batches_current_dataloader,
            self.test_description,
        )
        self.refresh()

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
        if not self.is_disabled:
            self._update(self.test_progress_bar_id, batch_idx + 1)

    def on_test_end(self, trainer: Any, pl_module: Any) -> None:
        self.reset_dataloader_idx_tracker()

    def on_predict_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_predict_start(trainer, pl_module)
        self._init_progress(trainer)

    def on_predict_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if self.is_disabled or not self.has_dataloader_changed(dataloader_idx):
            return
        self.predict_progress_bar_id = self._replace_task(
            self.predict_progress_bar_id,
            self.total_predict_batches_current_dataloader,
            self.predict_description,
        )
        self.refresh()

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
        if not self.is_disabled:
            self._update(self.predict_progress_bar_id, batch_idx + 1)

    def on_predict_end(self, trainer: Any, pl_module: Any) -> None:
        self.reset_dataloader_idx_tracker()

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._stop_progress()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        if self.progress is not None and not self._progress_stopped:
            self._update_metrics(trainer, pl_module)  # the values of the batch it stopped at
        self._stop_progress()


def _clear_live(console: Any) -> None:
    """Forget every live display of ``console`` (rich >= 14.1 keeps a stack of them, and
    ``clear_live`` pops one, failing on an empty stack; older ones keep one)."""
    stack = getattr(console, "_live_stack", None)
    if stack is None:
        console.clear_live()
        return
    while stack:
        console.clear_live()


def _is_fit(trainer: Any) -> bool:
    fn = trainer.state.fn
    return str(getattr(fn, "value", fn)) == "fit"
