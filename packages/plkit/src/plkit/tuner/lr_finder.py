"""The learning rate range test: ``Tuner(trainer).lr_find(model)`` or the LearningRateFinder.

From ``min_lr`` the learning rate grows after every optimizer step (exponentially or linearly,
reaching ``max_lr`` after ``num_training`` steps) while the loss is recorded, smoothed
exponentially (``beta`` 0.98, bias-corrected by the global step); the search stops early once
the smoothed loss exceeds ``early_stop_threshold`` times the best seen. The suggestion is the
learning rate where the smoothed loss falls fastest. Afterwards the model, the optimizer, the
callbacks and the loops are exactly as before (a temporary ``.lr_find_<uuid>.ckpt`` in
``default_root_dir`` is written and reloaded, then removed).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from plcore import Callback, LightningModule
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn
from plkit import _dataloaders
from plkit._optimizers import LRSchedulerConfig
from plkit._runstate import RunState
from plkit.loops.fit import run_training
from plkit.loops.optimization import Optimization
from plkit.tuner import _trial
from plkit.utilities.parsing import lightning_hasattr, lightning_setattr

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["_LRFinder", "lr_find"]

log = logging.getLogger("plkit")


def _determine_lr_attr_name(model: LightningModule, attr_name: str = "") -> str:
    """The attribute that holds the learning rate: ``attr_name``, else ``lr`` or ``learning_rate``."""
    if attr_name:
        if not lightning_hasattr(model, attr_name):
            raise AttributeError(
                f"The attribute name for the learning rate was set to {attr_name}, but"
                " could not find this as a field in `model` or `model.hparams`."
            )
        return attr_name
    options = ("lr", "learning_rate")
    for attr in options:
        if lightning_hasattr(model, attr):
            return attr
    raise AttributeError(
        "When using the learning rate finder, either `model` or `model.hparams` should"
        f" have one of these fields: {options}. If your model has a different name for the"
        " learning rate, set it with `.lr_find(attr_name=...)`."
    )


class _LRFinder:
    """What ``lr_find`` found: ``results`` (``{"lr": [...], "loss": [...]}``), a suggestion, a plot.

    Args:
        mode: "exponential" or "linear": how the learning rate grows after each step.
        lr_min: the first learning rate.
        lr_max: the learning rate reached after ``num_training`` steps.
        num_training: the number of steps the search takes.
    """

    def __init__(self, mode: str, lr_min: float, lr_max: float, num_training: int) -> None:
        if mode not in ("linear", "exponential"):
            raise ValueError(f"mode should be either `linear` or `exponential`, got {mode!r}")
        self.mode = mode
        self.lr_min = lr_min
        self.lr_max = lr_max
        self.num_training = num_training
        self.results: dict[str, Any] = {}
        self._total_batch_idx = 0
        self._optimal_idx: int | None = None

    def _exchange_scheduler(self, trainer: Trainer) -> None:
        """The user's optimizer, at ``lr_min``, with the search's scheduler stepping it."""
        run = _trial.runstate(trainer)
        optimizers = run.optim.optimizers
        if len(optimizers) != 1:
            raise MisconfigurationException(
                f"`model.configure_optimizers()` returned {len(optimizers)}, but"
                " learning rate finder only works with single optimizer"
            )
        optimizer = optimizers[0]
        for group in optimizer.param_groups:
            group["lr"] = self.lr_min
            group["initial_lr"] = self.lr_min
        cls = _LinearLR if self.mode == "linear" else _ExponentialLR
        scheduler = cls(optimizer, self.lr_max, self.num_training)
        run.optim = dataclasses.replace(
            run.optim, lr_scheduler_configs=[LRSchedulerConfig(scheduler, interval="step")]
        )

    def plot(self, suggest: bool = False, show: bool = False, ax: Any = None) -> Any:
        """Plot the loss against the learning rate (matplotlib; the ``tuner`` extra).

        Args:
            suggest: mark the suggested learning rate with a red point.
            show: call ``plt.show()``.
            ax: the matplotlib Axes to draw on; a new figure when None.

        Returns:
            The figure drawn on.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as err:  # Lightning's exception class, naming plkit's extra
            raise MisconfigurationException(
                "To use the `plot` method, you must have Matplotlib installed."
                " Install it with `pip install 'plkit[tuner]'` (or `pip install -U matplotlib`)."
            ) from err
        lrs, losses = self.results["lr"], self.results["loss"]
        if ax is None:
            fig, ax = plt.subplots()
        else:
            fig = ax.figure
        ax.plot(lrs, losses)
        if self.mode == "exponential":
            ax.set_xscale("log")
        ax.set_xlabel("Learning rate")
        ax.set_ylabel("Loss")
        if suggest:
            self.suggestion()
            if self._optimal_idx:
                idx = self._optimal_idx
                ax.plot(lrs[idx], losses[idx], markersize=10, marker="o", color="red")
        if show:
            plt.show()
        return fig

    def suggestion(self, skip_begin: int = 10, skip_end: int = 1) -> float | None:
        """The learning rate where the loss falls most steeply (None with too few points).

        Args:
            skip_begin: points left out at the start (too naive).
            skip_end: points left out at the end (too optimistic).
        """
        all_losses = self.results["loss"]
        losses = torch.tensor(all_losses[skip_begin:-skip_end])
        lrs = torch.tensor(self.results["lr"][skip_begin:-skip_end])
        finite = torch.isfinite(losses)
        losses, lrs = losses[finite], lrs[finite]
        if len(losses) < 2:  # torch.gradient needs two points
            log.error(
                "Failed to compute suggestion for learning rate because there are not enough"
                " points. Increase the loop iteration limits or the size of your"
                " dataset/dataloader."
            )
            self._optimal_idx = None
            return None
        gradients = torch.gradient(losses, spacing=[lrs])[0]
        steepest = int(torch.argmin(gradients).item())
        kept = torch.arange(len(all_losses))[skip_begin:-skip_end][finite]
        self._optimal_idx = int(kept[steepest].item())
        return self.results["lr"][self._optimal_idx]


def lr_find(
    trainer: Trainer,
    model: LightningModule,
    min_lr: float = 1e-8,
    max_lr: float = 1,
    num_training: int = 100,
    mode: str = "exponential",
    early_stop_threshold: float | None = 4.0,
    update_attr: bool = False,
    attr_name: str = "",
) -> _LRFinder | None:
    """Run the range test inside the trainer's current fit; the state is restored afterwards.

    Returns:
        The :class:`_LRFinder` with the results, or None under ``fast_dev_run``.
    """
    run = _trial.runstate(trainer)
    if run.plan.fast_dev_run:
        rank_zero_warn("Skipping learning rate finder since `fast_dev_run` is enabled.")
        return None
    if update_attr:
        attr_name = _determine_lr_attr_name(model, attr_name)
    path = _trial.checkpoint_path(run, "lr_find")
    start_steps = run.progress.global_step
    saved = _trial.snapshot(run)
    recorder = _LRCallback(num_training, early_stop_threshold, progress_bar_refresh_rate=1)
    run.optim = dataclasses.replace(run.optim, lr_scheduler_configs=[])
    _trial.prepare_trial(
        run,
        [recorder],
        max_steps=num_training + start_steps,
        limit_val_batches=num_training,
    )
    finder = _LRFinder(mode, min_lr, max_lr, num_training)
    finished = False
    try:
        finder._exchange_scheduler(trainer)
        _run_trial(run)
        if run.progress.global_step != num_training + start_steps:
            log.info(
                f"LR finder stopped early after {run.progress.global_step} steps due to"
                " diverging loss."
            )
        finder.results = {"lr": recorder.lrs, "loss": recorder.losses}
        finder._total_batch_idx = run.progress.total_batch_idx
        finder.results = run.strategy.broadcast(finder.results)
        finished = True
    finally:
        saved.restore(run)
        if recorder.progress_bar is not None:  # Lightning's bar ends when its callback goes
            recorder.progress_bar.close()
        _trial.restore_checkpoint(run, path, saved)
        if run.plan.limit_train_batches != 0:
            _dataloaders.setup_train_data(run)  # requested again now, as Lightning does
    if update_attr and finished:
        _apply_suggestion(run, model, attr_name, finder)
    return finder


def _run_trial(run: RunState) -> None:
    """Fit's training loop with the trial's hooks and scheduler (no sanity check)."""
    run.loaders = run.loaders.fresh()
    run.schedule.enabled = _dataloaders.validation_enabled(run)
    run.optimization = Optimization(run)
    run_training(run)


def _apply_suggestion(
    run: RunState, model: LightningModule, attr_name: str, finder: _LRFinder
) -> None:
    """Set the suggested learning rate on the attribute and on the optimizers' groups, so that
    the training that follows uses it."""
    lr = finder.suggestion()
    if lr is None:
        return
    lightning_setattr(model, attr_name, lr)
    for optimizer in run.optim.optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr
    log.info(f"Learning rate set to {lr}")


class _LRCallback(Callback):
    """Records the learning rate before each step and the smoothed loss after it; stops the
    search when the loss diverges.

    Args:
        num_training: the steps of the search (the bar's total).
        early_stop_threshold: stop when the smoothed loss exceeds this times the best (None: never).
        progress_bar_refresh_rate: show a "Finding best initial lr" bar when non-zero.
        beta: the smoothing factor (0: no memory of past losses).
    """

    def __init__(
        self,
        num_training: int,
        early_stop_threshold: float | None = 4.0,
        progress_bar_refresh_rate: int = 0,
        beta: float = 0.98,
    ) -> None:
        self.num_training = num_training
        self.early_stop_threshold = early_stop_threshold
        self.beta = beta
        self.losses: list[float] = []
        self.lrs: list[float] = []
        self.avg_loss = 0.0
        self.best_loss = 0.0
        self.progress_bar_refresh_rate = progress_bar_refresh_rate
        self.progress_bar: Any = None

    def _window_ends(self, trainer: Any, batch_idx: int) -> bool:
        return (batch_idx + 1) % _trial.runstate(trainer).plan.accumulate_grad_batches == 0

    def on_train_batch_start(
        self, trainer: Any, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if not self._window_ends(trainer, batch_idx):
            return
        if self.progress_bar_refresh_rate and self.progress_bar is None:
            from tqdm import tqdm  # type: ignore[import-untyped]

            self.progress_bar = tqdm(desc="Finding best initial lr", total=self.num_training)
        self.lrs.append(trainer.lr_scheduler_configs[0].scheduler.lr[0])

    def on_train_batch_end(
        self, trainer: Any, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not self._window_ends(trainer, batch_idx):
            return
        if not outputs:  # a skipped step: nan keeps lrs and losses aligned (ignored later)
            self.losses.append(float("nan"))
            return
        if self.progress_bar:
            self.progress_bar.update()
        loss = outputs if isinstance(outputs, torch.Tensor) else outputs["loss"]
        current_loss = loss.item()
        step = trainer.global_step
        self.avg_loss = self.beta * self.avg_loss + (1 - self.beta) * current_loss
        smoothed = self.avg_loss / (1 - self.beta ** (step + 1))
        threshold = self.early_stop_threshold
        if threshold is not None and step > 1 and smoothed > threshold * self.best_loss:
            trainer.should_stop = True
            if self.progress_bar:
                self.progress_bar.close()
        trainer.should_stop = trainer.strategy.broadcast(trainer.should_stop)
        if smoothed < self.best_loss or step == 1:
            self.best_loss = smoothed
        self.losses.append(smoothed)


class _LinearLR(LRScheduler):
    """Grows the learning rate linearly from the base to ``end_lr`` over ``num_iter`` steps.

    As in Lightning, the first step after the start jumps to ``2 / num_iter`` of the way.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, end_lr: float, num_iter: int, last_epoch: int = -1
    ) -> None:
        self.end_lr = end_lr
        self.num_iter = num_iter
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float | torch.Tensor]:
        r = (self.last_epoch + 1) / self.num_iter
        if self.last_epoch > 0:
            val = [base + r * (self.end_lr - base) for base in self.base_lrs]
        else:
            val = list(self.base_lrs)
        self._lr = val
        return val

    @property
    def lr(self) -> list[float | torch.Tensor]:
        return self._lr


class _ExponentialLR(LRScheduler):
    """Grows the learning rate exponentially from the base to ``end_lr`` over ``num_iter`` steps."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, end_lr: float, num_iter: int, last_epoch: int = -1
    ) -> None:
        self.end_lr = end_lr
        self.num_iter = num_iter
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float | torch.Tensor]:
        r = (self.last_epoch + 1) / self.num_iter
        if self.last_epoch > 0:
            val = [base * (self.end_lr / base) ** r for base in self.base_lrs]
        else:
            val = list(self.base_lrs)
        self._lr = val
        return val

    @property
    def lr(self) -> list[float | torch.Tensor]:
        return self._lr
