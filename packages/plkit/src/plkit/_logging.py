"""Where logged values go: ``callback_metrics``, ``logged_metrics``, the progress bar, the loggers.

Values stay tensors until a logger needs them (every ``log_every_n_steps`` optimizer steps, at
epoch ends) or the progress bar reads ``trainer.progress_bar_metrics``.

Step numbers follow Lightning: a training step value is written at ``batches_that_stepped - 1``
(the first write with ``log_every_n_steps=50`` is at step 49), epoch values at the epoch's last
step, evaluation epoch values at the step training had reached (or 0 outside fit), evaluation
step values at their batch's number for their dataloader (counted across one entry point's
evaluation runs, without an ``epoch`` key). Every write is followed by the logger's ``save()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from plcore.metrics import MetricStore, MetricViews, to_float_dict
from plkit._progress import FitProgress

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["MetricsHub"]

_EPOCH_END_HOOKS = frozenset({"on_train_epoch_end", "on_validation_epoch_end", "on_test_epoch_end"})


class MetricsHub:
    """The metric views of one Trainer and the stores its loops log into."""

    def __init__(self, trainer: Trainer, progress: FitProgress) -> None:
        self.trainer = trainer
        self.progress = progress  # the Trainer's progress (every run carries the same object)
        self.train = MetricStore()
        self.eval = MetricStore()
        self.callback_metrics: dict[str, torch.Tensor] = {}
        self.logged_metrics: dict[str, torch.Tensor] = {}
        self.pbar: dict[str, Any] = {}
        self._eval_writes: list[tuple[dict[str, torch.Tensor], int]] = []
        # Per dataloader: evaluation batches run so far in this entry point (outside the sanity
        # check): the step axis of on_step evaluation values, as in Lightning.
        self._eval_steps: dict[int, int] = {}
        self._eval_new_keys: dict[int, list[str]] = {}  # with several loaders: new logged keys

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

    def begin_run(self) -> None:
        """A new entry point (fit, validate, test): the three views start empty, as in Lightning."""
        self.callback_metrics.clear()
        self.logged_metrics.clear()
        self.pbar.clear()
        self._eval_steps = {}

    # --- training --------------------------------------------------------------------------------
    def begin_fit(self) -> None:
        """``self.log`` in on_train_start counts towards the first epoch."""
        self.begin_run()
        self.train.reset()
        progress = self.progress
        self.train.step_clock = lambda: progress.total_batch_idx  # finished training batches
        self.trainer.lightning_module.log_context.store = self.train

    def flush(self) -> None:
        """Merge the values logged since the last read into the three views.

        Called when someone reads ``trainer.callback_metrics`` (or the other two views), before
        writing to loggers and at epoch ends, so a step nobody looks at costs no dict work.
        Inside an ``on_*_epoch_end`` hook the epoch aggregates logged so far are merged too, so
        a callback there sees what the epoch logged (Lightning computes the views live).
        """
        module = self.trainer.lightning_module
        ctx = None if module is None else module.log_context
        self._flush_train_steps()
        if ctx is not None and ctx.fx in _EPOCH_END_HOOKS and ctx.store in (self.train, self.eval):
            self._merge(ctx.store.epoch_views())

    def discard_unmerged(self) -> None:
        """A run failed: the failed training step's values are taken back and the finished
        steps' values stay (Lightning merges each step's values when its batch ends, which a
        failed step never reaches); unmerged evaluation step values are dropped."""
        self.train.rollback_step()
        self.eval.discard_step_values()

    def _flush_train_steps(self) -> None:
        if not self.train.step_dirty:
            return
        self._merge(self.train.step_views())

    def write_train_step(self) -> None:
        """Write this step's values to the loggers: every ``on_step`` key logged this epoch,
        with its last value (Lightning repeats a key not logged again in this step)."""
        self._flush_train_steps()
        metrics = self.train.step_log_values()
        if metrics:
            self.log(metrics, self.progress.batches_that_stepped - 1)

    def train_epoch_end(self, log: bool = True) -> None:
        """Merge the epoch aggregates; write them (and start a new epoch) when ``log``."""
        self.flush()
        views = self.train.epoch_views()
        self._merge(views)
        if not log:
            return
        if views.log:
            self.log(views.log, max(self.progress.batches_that_stepped - 1, 0))
        self.save_loggers()
        self.train.reset()

    # --- evaluation ------------------------------------------------------------------------------
    def begin_eval(self) -> Any:
        """Point ``self.log`` at the evaluation store; returns the store to restore afterwards."""
        if self.trainer.state.fn != "fit":
            self.begin_run()  # validate / test: a new entry point
        else:
            self._flush_train_steps()  # training keys reach the views before validation's
        self.eval.reset()
        self._eval_writes = []
        self._eval_new_keys = {}
        ctx = self.trainer.lightning_module.log_context
        previous, ctx.store = ctx.store, self.eval
        return previous

    def eval_batch_end(self, dataloader_idx: int, batch_idx: int) -> None:
        """Values logged with ``on_step=True`` in an evaluation step: they reach logged and
        progress-bar metrics now, and the loggers (at the batch's step for its dataloader,
        counted across the entry point's evaluation runs) when the pass ends, so that no batch
        waits for the device."""
        views = self.eval.step_views()
        self.pbar.update(views.pbar)
        several = self.trainer.lightning_module.log_context.num_dataloaders > 1
        if several:  # remember which dataloader brought each new key (see _order_by_dataloader)
            new = self._eval_new_keys.setdefault(dataloader_idx, [])
            new.extend(k for k in views.log if k not in self.logged_metrics)
        self.logged_metrics.update(views.log)
        if views.log and not self.trainer.sanity_checking:
            metrics = self.eval.step_log_values(dataloader_idx if several else None)
            step = self._eval_steps.get(dataloader_idx, 0) + batch_idx
            self._eval_writes.append((metrics, step))

    def eval_end(self, stage: Any, num_loaders: int) -> list[dict[str, float]]:
        """Epoch values of an evaluation run, merged and logged; one dict per dataloader."""
        writes, self._eval_writes = self._eval_writes, []
        for metrics, step in writes:
            self.log(metrics, step, add_epoch=False)
        views = self.eval.epoch_views()
        new_epoch_keys = [k for k in views.log if k not in self.logged_metrics]
        self._merge(views)
        new_step_keys, self._eval_new_keys = self._eval_new_keys, {}
        if stage == "sanity_check":
            return []
        if num_loaders > 1:
            self._order_by_dataloader(new_step_keys, new_epoch_keys, views.sources, num_loaders)
        self._count_eval_steps(stage)
        if views.log:
            step = self.progress.batches_that_stepped
            step = step - 1 if self.trainer.state.fn == "fit" and step else step
            self.log(_grouped_by_dataloader(views.log, views.sources, num_loaders), step)
        self.save_loggers()
        return _per_dataloader(to_float_dict(views.log), views.sources, num_loaders)

    def _order_by_dataloader(
        self,
        step_keys: dict[int, list[str]],
        epoch_keys: list[str],
        sources: dict[str, int | None],
        num_loaders: int,
    ) -> None:
        """Lightning merges each dataloader's epoch values into ``logged_metrics`` when that
        dataloader ends: keys first seen in this run move into that order (dataloader 0's step
        and epoch keys, then dataloader 1's, ..., then keys logged outside batches)."""
        order: list[str] = []
        for idx in range(num_loaders):
            order += step_keys.get(idx, [])
            order += [k for k in epoch_keys if sources.get(k) == idx]
        order += [k for k in epoch_keys if k not in order]
        logged = self.logged_metrics
        for key in order:
            if key in logged:
                logged[key] = logged.pop(key)

    def _count_eval_steps(self, stage: Any) -> None:
        """Move each dataloader's step axis past the batches this evaluation run used."""
        trainer = self.trainer
        counts = trainer.num_test_batches if stage == "test" else trainer.num_val_batches
        for idx, count in enumerate(counts or ()):
            if count != float("inf"):
                self._eval_steps[idx] = self._eval_steps.get(idx, 0) + int(count)

    def discard_sanity(self) -> None:
        """Sanity-check values must not reach callbacks (Lightning resets them too)."""
        self.callback_metrics.clear()
        self.pbar.clear()
        self.logged_metrics.clear()
        self.eval.reset()

    # --- loggers ---------------------------------------------------------------------------------
    def log(self, metrics: dict[str, torch.Tensor], step: int, add_epoch: bool = True) -> None:
        """Send ``metrics`` (plus ``epoch`` unless ``add_epoch`` is false, as for evaluation
        step values) to every logger, on global rank 0, each followed by its ``save()``.

        A logged ``step`` key is not a metric: it replaces ``step`` (Lightning's rule).
        Callers have already merged ``metrics`` into ``logged_metrics``.
        """
        trainer = self.trainer
        loggers = trainer.loggers
        if not loggers or not trainer.is_global_zero:
            return
        scalars = to_float_dict(metrics)
        if add_epoch:
            step_metric = scalars.pop("step", None)
            if step_metric is not None:
                step = int(step_metric)
            else:
                scalars.setdefault("epoch", trainer.current_epoch)
        for logger in loggers:
            logger.log_metrics(scalars, step=step)
            logger.save()

    def save_loggers(self) -> None:
        """Let the loggers persist what they buffered (epoch and evaluation ends, not each step)."""
        if self.trainer.is_global_zero:
            for logger in self.trainer.loggers:
                logger.save()


def _grouped_by_dataloader(
    metrics: dict[str, torch.Tensor], sources: dict[str, int | None], num_loaders: int
) -> dict[str, torch.Tensor]:
    """With several dataloaders Lightning writes the epoch values grouped by dataloader, the
    last dataloader's first, then the keys logged outside batches."""
    if num_loaders <= 1:
        return metrics
    grouped: dict[str, torch.Tensor] = {}
    for idx in reversed(range(num_loaders)):
        grouped.update((k, v) for k, v in metrics.items() if sources.get(k) == idx)
    grouped.update(metrics)
    return grouped


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
