"""Where logged values go: ``callback_metrics``, ``logged_metrics``, the progress bar, the loggers.

Values stay tensors until a logger needs them (every ``log_every_n_steps`` optimizer steps, at
epoch ends) or the progress bar reads ``trainer.progress_bar_metrics``.
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
        sync = trainer.strategy.reduce if trainer.world_size > 1 else None
        self.train = MetricStore(sync=sync)
        self.eval = MetricStore(sync=sync)
        self.callback_metrics: dict[str, torch.Tensor] = {}
        self.logged_metrics: dict[str, torch.Tensor] = {}
        self.pbar: dict[str, Any] = {}

    # --- views ---------------------------------------------------------------------------------
    def progress_bar_metrics(self) -> dict[str, float]:
        out = {}
        for key, value in self.pbar.items():
            out[key] = value.item() if isinstance(value, torch.Tensor) else value
        return out

    def _merge(self, views: MetricViews) -> None:
        self.callback_metrics.update(views.callback)
        self.pbar.update(views.pbar)

    # --- training --------------------------------------------------------------------------------
    def begin_train_epoch(self) -> None:
        self.train.reset()
        model = self.trainer.lightning_module
        model._log_ctx.store = self.train

    def train_step_end(self, log_now: bool) -> None:
        """Merge this step's values; write them to the loggers when it is a logging step."""
        views = self.train.step_views()
        self._merge(views)
        if log_now and views.log:
            self.log(views.log, self.trainer._progress.batches_that_stepped - 1)

    def train_epoch_end(self, log: bool = True) -> None:
        """Merge the epoch aggregates; write them to the loggers when ``log``."""
        views = self.train.epoch_views()
        self._merge(views)
        if log and views.log:
            self.log(views.log, self.trainer._progress.batches_that_stepped)

    # --- evaluation ------------------------------------------------------------------------------
    def begin_eval(self) -> Any:
        """Point ``self.log`` at the evaluation store; returns the store to restore afterwards."""
        self.eval.reset()
        ctx = self.trainer.lightning_module._log_ctx
        previous, ctx.store = ctx.store, self.eval
        return previous

    def eval_end(self, stage: Any, num_loaders: int) -> list[dict[str, float]]:
        """Epoch values of an evaluation run, merged and logged; one dict per dataloader."""
        views = self.eval.epoch_views()
        if self.eval.has_step_values:  # per-batch evaluation values are not written (documented)
            self.eval.step_views()
        self._merge(views)
        if str(stage) == "sanity_check":
            return []
        if views.log:
            step = self.trainer._progress.batches_that_stepped
            self.log(views.log, step - 1 if self.trainer.state.fn == "fit" and step else step)
        return _per_dataloader(to_float_dict(views.log), num_loaders)

    def discard_sanity(self) -> None:
        """Sanity-check values must not reach callbacks (Lightning resets them too)."""
        self.callback_metrics.clear()
        self.pbar.clear()
        self.eval.reset()

    # --- loggers ---------------------------------------------------------------------------------
    def log(self, metrics: dict[str, torch.Tensor], step: int) -> None:
        """Send ``metrics`` (plus ``epoch``) to every logger, on global rank 0."""
        trainer = self.trainer
        metrics = dict(metrics)
        metrics.setdefault("epoch", torch.tensor(float(trainer.current_epoch)))
        self.logged_metrics.update(metrics)
        loggers = trainer.loggers
        if not loggers or not trainer.is_global_zero:
            return
        scalars = to_float_dict(metrics)
        for logger in loggers:
            logger.log_metrics(scalars, step=step)
            logger.save()


def _per_dataloader(metrics: dict[str, float], num_loaders: int) -> list[dict[str, float]]:
    if num_loaders <= 1:
        return [metrics]
    results: list[dict[str, float]] = [{} for _ in range(num_loaders)]
    for key, value in metrics.items():
        _, sep, idx = key.rpartition("/dataloader_idx_")
        if sep and idx.isdigit() and int(idx) < num_loaders:
            results[int(idx)][key] = value
        else:
            for result in results:
                result[key] = value
    return results
