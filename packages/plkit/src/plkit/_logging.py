"""Where logged values go: ``callback_metrics``, ``logged_metrics``, the progress bar, the loggers.

Values stay tensors until a logger needs them (every ``log_every_n_steps`` optimizer steps, at
epoch ends) or the progress bar reads ``trainer.progress_bar_metrics``.

Step numbers follow Lightning: a training step value is written at ``batches_that_stepped - 1``
(the first write with ``log_every_n_steps=50`` is at step 49), epoch values at the epoch's last
step, evaluation values at the step training had reached (or 0 outside fit).
"""

from __future__ import annotations

from typing import Any

import torch

from plcore.metrics import MetricStore, MetricViews, to_float_dict

__all__ = ["MetricsHub"]


class MetricsHub:
    """The metric views of one Trainer and the stores its loops log into."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.train = MetricStore()
        self.eval = MetricStore()
        self.callback_metrics: dict[str, torch.Tensor] = {}
        self.logged_metrics: dict[str, torch.Tensor] = {}
        self.pbar: dict[str, Any] = {}
        self._pending: MetricViews | None = None
        self._eval_writes: list[tuple[dict[str, torch.Tensor], int]] = []

    def set_sync(self, sync: Any) -> None:
        """Install the cross-process reduction once the processes exist."""
        self.train.sync = self.eval.sync = sync

    # --- views ---------------------------------------------------------------------------------
    def progress_bar_metrics(self) -> dict[str, float]:
        return {k: (v.item() if isinstance(v, torch.Tensor) else v) for k, v in self.pbar.items()}

    def _merge(self, views: MetricViews) -> None:
        self.callback_metrics.update(views.callback)
        self.pbar.update(views.pbar)
        self.logged_metrics.update(views.log)

    # --- training --------------------------------------------------------------------------------
    def begin_fit(self) -> None:
        """``self.log`` in on_train_start counts towards the first epoch."""
        self.train.reset()
        self.trainer.lightning_module._log_ctx.store = self.train

    def flush(self) -> None:
        """Merge the training values logged since the last read into the three views.

        Called when someone reads ``trainer.callback_metrics`` (or the other two views), before
        writing to loggers and at epoch ends, so a step nobody looks at costs no dict work.
        """
        if not self.train._step_dirty:
            return
        views = self.train.step_views()
        self._merge(views)
        if self._pending is None:
            self._pending = views
        else:
            self._pending.log.update(views.log)

    def write_train_step(self) -> None:
        """Write the values merged since the last write to the loggers."""
        self.flush()
        views, self._pending = self._pending, None
        if views is not None and views.log:
            self.log(views.log, self.trainer._progress.batches_that_stepped - 1)

    def train_epoch_end(self, log: bool = True) -> None:
        """Merge the epoch aggregates; write them (and start a new epoch) when ``log``."""
        self.flush()
        views = self.train.epoch_views()
        self._merge(views)
        if not log:
            return
        if views.log:
            self.log(views.log, max(self.trainer._progress.batches_that_stepped - 1, 0))
        self.save_loggers()
        self.train.reset()

    # --- evaluation ------------------------------------------------------------------------------
    def begin_eval(self) -> Any:
        """Point ``self.log`` at the evaluation store; returns the store to restore afterwards."""
        self.eval.reset()
        self._eval_writes = []
        ctx = self.trainer.lightning_module._log_ctx
        previous, ctx.store = ctx.store, self.eval
        return previous

    def eval_batch_end(self, step: int) -> None:
        """Values logged with ``on_step=True`` in an evaluation step: they reach logged and
        progress-bar metrics now, and the loggers (at their batch's step) when the pass ends, so
        that no batch waits for the device."""
        views = self.eval.step_views()
        self.pbar.update(views.pbar)
        self.logged_metrics.update(views.log)
        if views.log and not self.trainer.sanity_checking:
            self._eval_writes.append((views.log, step))

    def eval_end(self, stage: Any, num_loaders: int) -> list[dict[str, float]]:
        """Epoch values of an evaluation run, merged and logged; one dict per dataloader."""
        writes, self._eval_writes = self._eval_writes, []
        for metrics, step in writes:
            self.log(metrics, step)
        views = self.eval.epoch_views()
        self._merge(views)
        if str(stage) == "sanity_check":
            return []
        if views.log:
            step = self.trainer._progress.batches_that_stepped
            self.log(views.log, step - 1 if self.trainer.state.fn == "fit" and step else step)
        self.save_loggers()
        return _per_dataloader(to_float_dict(views.log), views.sources, num_loaders)

    def discard_sanity(self) -> None:
        """Sanity-check values must not reach callbacks (Lightning resets them too)."""
        self.callback_metrics.clear()
        self.pbar.clear()
        self.logged_metrics.clear()
        self.eval.reset()

    # --- loggers ---------------------------------------------------------------------------------
    def log(self, metrics: dict[str, torch.Tensor], step: int) -> None:
        """Send ``metrics`` (plus ``epoch``) to every logger, on global rank 0.

        Callers have already merged ``metrics`` into ``logged_metrics``.
        """
        trainer = self.trainer
        loggers = trainer.loggers
        if not loggers or not trainer.is_global_zero:
            return
        scalars = to_float_dict(metrics)
        scalars.setdefault("epoch", trainer.current_epoch)
        for logger in loggers:
            logger.log_metrics(scalars, step=step)

    def save_loggers(self) -> None:
        """Let the loggers persist what they buffered (epoch and evaluation ends, not each step)."""
        if self.trainer.is_global_zero:
            for logger in self.trainer.loggers:
                logger.save()


def _per_dataloader(
    metrics: dict[str, float], sources: dict[str, int | None], num_loaders: int
) -> list[dict[str, float]]:
    """Split results by the dataloader that logged each key (epoch-end keys go to all)."""
    if num_loaders <= 1:
        return [metrics]
    results: list[dict[str, float]] = [{} for _ in range(num_loaders)]
    for key, value in metrics.items():
        source = sources.get(key)
        targets = results if source is None or source >= num_loaders else [results[source]]
        for result in targets:
            result[key] = value
    return results
