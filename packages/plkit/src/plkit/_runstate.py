"""The state of one run (one call of fit / validate / test / predict), typed, in one place.

A :class:`RunState` is made by each entry point (:meth:`RunState.next` carries over what outlives
a call: progress, metrics, batch counts, the optimizers); the loops take it as their only
argument, and the Trainer's public properties (``current_epoch``, ``optimizers``,
``num_val_batches``, ...) read it. The questions the loops ask about *when* things happen are
answered here and nowhere else:

- :meth:`RunState.validation_due` — does validation run after this training batch?
  (with :class:`ValidationSchedule`, which also holds ``val_check_batch``);
- :meth:`RunState.training_done` — has fit reached ``max_epochs`` / ``max_steps``?
- :meth:`RunState.may_stop_early` — may a stop request (``should_stop``) end fit now?
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from plcore import LightningDataModule, LightningModule
from plcore.optimizer import LightningOptimizer
from plkit import _console
from plkit._flags import Plan
from plkit._logging import MetricsHub
from plkit._optimizers import LRSchedulerConfig
from plkit._preemption import Preemption
from plkit._progress import EvalProgress, FitProgress
from plkit._state import TrainerFn, TrainerState

if TYPE_CHECKING:
    from placcel import Strategy
    from plkit._calls import HookCaller
    from plkit.loops.optimization import Optimization
    from plkit.trainer import Trainer

__all__ = [
    "EntryArgs",
    "LoaderState",
    "OptimizerSetup",
    "PredictLoop",
    "RunState",
    "TimedValidationSchedule",
    "ValidationSchedule",
]

#: A batch transfer: ``(batch, dataloader_idx) -> batch on the device``.
Transfer = Any


@dataclass
class EntryArgs:
    """What the entry point was called with (after Lightning's argument shuffles)."""

    fn: TrainerFn | None = None
    train: Any = None  # fit's train_dataloaders
    val: Any = None  # fit's val_dataloaders, or validate's dataloaders
    test: Any = None
    predict: Any = None
    #: The datamodule given to this call: loaders and batch-transfer hooks come only from it.
    datamodule: LightningDataModule | None = None
    verbose: bool = True
    return_predictions: bool = True
    #: No model given: the previous call's model is reused (evaluation then loads its best).
    model_connected_only: bool = False
    #: How ``ckpt_path`` is read: None the checkpoint IO's default (weights only), False any
    #: pickled object (trusted files only).
    weights_only: bool | None = None


@dataclass
class LoaderState:
    """The loaders of the run and the batches each may run.

    The loaders are requested afresh by every entry point; the batch counts outlive it (as in
    Lightning, ``trainer.num_training_batches`` still answers after fit).
    """

    train: Any = None
    #: ``(loader, rng, iterator)``: the first epoch's iterator, made when the loader was
    #: requested (a DataLoader's iterator draws its seed from the global RNG then).
    first_train_iter: tuple[Any, Any, Any] | None = None
    train_loaded_epoch: float | None = None
    val: list[Any] = field(default_factory=list)
    val_loaded_epoch: float | None = None  # the epoch fit's val loaders were requested
    num_training_batches: int | float = math.inf
    fit_val_batches: list[int | float] = field(default_factory=list)  # and the sanity check's
    validate_batches: list[int | float] = field(default_factory=list)  # trainer.validate's
    test_batches: list[int | float] = field(default_factory=list)
    predict_batches: list[int | float] = field(default_factory=list)

    def fresh(self) -> LoaderState:
        """The state a new entry point starts from: no loaders, the same counts."""
        return LoaderState(
            num_training_batches=self.num_training_batches,
            fit_val_batches=self.fit_val_batches,
            validate_batches=self.validate_batches,
            test_batches=self.test_batches,
            predict_batches=self.predict_batches,
        )


@dataclass
class OptimizerSetup:
    """What ``configure_optimizers`` gave: the optimizers, their Lightning wrappers, schedulers."""

    optimizers: list[torch.optim.Optimizer] = field(default_factory=list)
    lightning_optimizers: list[LightningOptimizer] = field(default_factory=list)
    lr_scheduler_configs: list[LRSchedulerConfig] = field(default_factory=list)


@dataclass
class ValidationSchedule:
    """When fit validates: which epochs, and after which batches of them.

    ``val_check_batch`` is Lightning's: validate after every that many batches (of the epoch,
    or counted across epochs when ``check_val_every_n_epoch`` is None); ``inf`` means at the
    end of the epoch only.
    """

    enabled: bool = False  # validation data, a validation_step and limit_val_batches != 0
    every_n_epochs: int | None = 1  # check_val_every_n_epoch
    interval: int | float = 1.0  # val_check_interval
    val_check_batch: int | float | None = None

    @classmethod
    def of(cls, plan: Plan, val_check_batch: int | float | None = None) -> ValidationSchedule:
        """The schedule the flags describe (``enabled`` is decided by fit once it knows its
        data); a time-based ``val_check_interval`` gets a :class:`TimedValidationSchedule`."""
        if plan.val_check_time is not None:
            return TimedValidationSchedule(
                every_n_epochs=plan.check_val_every_n_epoch, seconds=plan.val_check_time
            )
        return cls(
            every_n_epochs=plan.check_val_every_n_epoch,
            interval=plan.val_check_interval,
            val_check_batch=val_check_batch,
        )

    def training_data_loaded(self, plan: Plan, num_batches: float) -> None:
        """Fit (re)loaded its training data: ``num_batches`` per epoch."""
        # no training batches: fit trains nothing, and validation is never due (Lightning: None)
        self.val_check_batch = None if num_batches == 0 else self.check_batch(plan, num_batches)

    def validated(self) -> None:
        """Fit's validation just ran (the timed schedule restarts its clock)."""

    @staticmethod
    def check_batch(plan: Plan, num_batches: float) -> int | float:
        """``val_check_batch`` for an epoch of ``num_batches`` (Lightning's rule and errors)."""
        vci = plan.val_check_interval
        if isinstance(vci, int):
            if (
                plan.check_val_every_n_epoch is not None
                and num_batches != math.inf
                and vci > num_batches
            ):
                raise ValueError(
                    f"Trainer(val_check_interval={vci}) must be <= the number of training "
                    f"batches ({int(num_batches)}). To validate every {vci} batches across "
                    "epochs, set check_val_every_n_epoch=None; to disable validation, set "
                    "limit_val_batches=0."
                )
            return vci
        if num_batches == math.inf:
            if vci != 1.0:
                raise ValueError(
                    f"Trainer(val_check_interval={vci}) is a fraction of an epoch, but the "
                    "training data has no length. Pass an int number of batches instead."
                )
            return math.inf
        return max(1, int(num_batches * vci))

    def due_in_epoch(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (0-based) validates at all (``check_val_every_n_epoch``)."""
        every = self.every_n_epochs
        return every is None or (epoch + 1) % every == 0

    def due_after(
        self,
        batch_idx: int,
        is_last: bool,
        total_batches_done: int,
        stopping: Callable[[], bool],
    ) -> bool:
        """Whether validation runs after training batch ``batch_idx`` of an epoch that
        validates; ``total_batches_done`` counts this batch; ``stopping()`` says whether fit
        honours a stop request now (the last batch before a stop validates, as in Lightning;
        asked only when the batch would not validate anyway)."""
        check = self.val_check_batch
        if check is None:
            return False
        if is_last and check == math.inf:
            return True
        if stopping():
            return True
        if check == math.inf:
            return is_last
        current = total_batches_done - 1 if self.every_n_epochs is None else batch_idx
        return (current + 1) % check == 0

    @property
    def once_per_epoch(self) -> bool:
        """Whether the flags ask for one validation at each epoch's end (ModelCheckpoint and
        EarlyStopping then act at the end of the training epoch, as in Lightning, which reads
        ``val_check_interval == 1.0 and check_val_every_n_epoch == 1``)."""
        return self.every_n_epochs == 1 and self.interval == 1.0


@dataclass
class TimedValidationSchedule(ValidationSchedule):
    """A time-based ``val_check_interval``: validate after the first training batch that ends
    ``seconds`` or more after the training data was loaded or the last validation ended (in
    the epochs ``check_val_every_n_epoch`` picks; an epoch's end is not a check of its own).

    Only this schedule reads the clock, so batch-counted schedules pay nothing for it.
    """

    seconds: float = 0.0
    last_validation: float = 0.0  # time.monotonic() when the clock last restarted
    unsized: bool = False  # training data without a length: its last batch validates

    def training_data_loaded(self, plan: Plan, num_batches: float) -> None:
        self.val_check_batch = None  # no batch count, as in Lightning
        self.unsized = num_batches == math.inf
        self.last_validation = time.monotonic()

    def validated(self) -> None:
        self.last_validation = time.monotonic()

    def due_after(
        self,
        batch_idx: int,
        is_last: bool,
        total_batches_done: int,
        stopping: Callable[[], bool],
    ) -> bool:
        if (is_last and self.unsized) or stopping():
            return True
        return time.monotonic() - self.last_validation >= self.seconds

    @property
    def once_per_epoch(self) -> bool:
        return False  # checkpoints and early stopping act after each validation


class PredictLoop:
    """``trainer.predict_loop``: what the latest ``trainer.predict`` collected (Lightning's names).

    ``predictions`` is one list of batch predictions (several dataloaders: one list each);
    ``epoch_batch_indices`` is per dataloader, per batch, the samples' dataset indices;
    ``current_batch_indices`` those of the batch being predicted. The indices are recorded only
    when a ``BasePredictionWriter`` is among the callbacks.
    """

    def __init__(self) -> None:
        self.return_predictions = True
        self.current_batch_indices: list[int] = []
        self.epoch_batch_indices: list[list[list[int]]] = []
        self._predictions: list[list[Any]] = []

    @property
    def predictions(self) -> list[Any]:
        """The kept predictions (one dataloader: its list; several: one list per dataloader)."""
        if self._predictions == []:
            return self._predictions
        return self._predictions[0] if len(self._predictions) == 1 else self._predictions


@dataclass
class RunState:
    """One run of an entry point: what it runs, on what, and how far it got."""

    plan: Plan
    strategy: Strategy
    trainer: Trainer  # what hooks receive as their first argument
    metrics: MetricsHub
    state: TrainerState = field(default_factory=TrainerState)
    module: LightningModule | None = None
    #: ``trainer.datamodule``: the one given to this call or kept from an earlier one.
    datamodule: LightningDataModule | None = None
    args: EntryArgs = field(default_factory=EntryArgs)
    calls: HookCaller | None = None
    progress: FitProgress = field(default_factory=FitProgress)
    eval_progress: EvalProgress = field(default_factory=EvalProgress)
    preemption: Preemption = field(default_factory=Preemption)
    loaders: LoaderState = field(default_factory=LoaderState)
    optim: OptimizerSetup = field(default_factory=OptimizerSetup)
    schedule: ValidationSchedule = field(default_factory=ValidationSchedule)
    #: The module as the strategy wrapped it: what ``training_step`` goes through.
    forward_module: Any = None
    wrapped_module: torch.nn.Module | None = None  # ``trainer.model`` (e.g. DDP), when wrapped
    transfer: Transfer = None
    #: ``trainer.predict_loop``: the latest prediction's kept outputs and sample indices.
    predict_loop: PredictLoop = field(default_factory=PredictLoop)
    #: The training loop's per-batch optimization, while fit runs.
    optimization: Optimization | None = None
    ckpt_path: str | None = None
    resumed_hpc: str | None = None  # the preemption checkpoint this fit resumed from
    should_stop: bool = False
    preempted: bool = False
    stop_refused: bool = False  # "signaled to stop but ... not met" said once per Trainer
    pending_rng: Any = None  # RNG states a resumed fit restores when its epoch starts
    rng_at_eval_start: Any = None  # the training RNG while fit's validation runs
    #: Loaders and limits that replace an evaluation's own once its start hooks have run
    #: (the BatchSizeFinder requests them again at the size it found).
    reloaded_eval: tuple[list[Any], list[int | float]] | None = None

    def next(self, plan: Plan, args: EntryArgs, module: LightningModule) -> RunState:
        """The state a new entry point starts from: what outlives a call is carried over
        (progress, metrics, batch counts, the optimizers, the datamodule); loaders, hooks and
        the module's wrapping are made afresh."""
        return RunState(
            plan=plan,
            strategy=self.strategy,
            trainer=self.trainer,
            metrics=self.metrics,
            module=module,
            datamodule=args.datamodule if args.datamodule is not None else self.datamodule,
            args=args,
            progress=self.progress,
            eval_progress=self.eval_progress,
            preemption=self.preemption,
            loaders=self.loaders.fresh(),
            optim=self.optim,
            schedule=ValidationSchedule.of(plan, self.schedule.val_check_batch),
            stop_refused=self.stop_refused,
            predict_loop=self.predict_loop,
        )

    @property
    def hooks(self) -> HookCaller:
        """The hook caller (set up at the start of the run)."""
        assert self.calls is not None, "hooks are called only inside a run"
        return self.calls

    @property
    def lightning_module(self) -> LightningModule:
        assert self.module is not None, "a run always has a module"
        return self.module

    @property
    def world_size(self) -> int:
        return self.strategy.world_size

    # --- when things happen ----------------------------------------------------------------------
    def training_done(self) -> bool:
        """Whether fit reached ``max_steps`` or ``max_epochs``."""
        plan, p = self.plan, self.progress
        if plan.max_steps != -1 and p.global_step >= plan.max_steps:
            return True
        return plan.max_epochs not in (-1, None) and p.epoch >= plan.max_epochs

    def may_stop_early(self) -> bool:
        """Whether a stop request may end fit now (asked only once ``should_stop`` is set):
        the epochs completed must reach ``min_epochs`` and the steps ``min_steps``."""
        p, plan = self.progress, self.plan
        can = p.epoch >= (plan.min_epochs or 0) and p.global_step >= (plan.min_steps or 0)
        if not can and not self.stop_refused:
            self.stop_refused = True
            _console.info(
                f"Trainer was signaled to stop but the required `min_epochs={plan.min_epochs!r}`"
                f" or `min_steps={plan.min_steps!r}` has not been met. Training will continue..."
            )
        return can

    def stopping(self) -> bool:
        """A stop request that fit honours now."""
        return self.should_stop and self.may_stop_early()

    def validates_this_epoch(self) -> bool:
        """Whether the current epoch validates at all (validation on, the epoch due)."""
        return self.schedule.enabled and self.schedule.due_in_epoch(self.progress.epoch)

    def validation_due(self, batch_idx: int, is_last: bool) -> bool:
        """Whether validation runs after training batch ``batch_idx`` (``is_last``: the epoch's
        last). The training loop asks only in epochs that validate (the answer is False in the
        others), so a fit without validation pays nothing per batch."""
        if not self.validates_this_epoch():
            return False
        return self.schedule.due_after(
            batch_idx, is_last, self.progress.total_batch_idx, self.stopping
        )
