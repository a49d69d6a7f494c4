"""The fit loop: sanity check, then epochs until a stopping condition holds.

Stops when ``max_epochs`` or ``max_steps`` is reached (:meth:`RunState.training_done`), or when ``trainer.should_stop`` is set and ``min_epochs`` /
``min_steps`` are met (:meth:`RunState.may_stop_early`). Per epoch::

    on_train_epoch_start
    the batches (plkit.loops.training), validation among them when due
    on_train_epoch_end                      callbacks, the module, then ModelCheckpoint / EarlyStopping
    epoch-interval ReduceLROnPlateau
"""

from __future__ import annotations

from plcore.utilities.rank_zero import rank_zero_warn
from plkit import _console, _dataloaders
from plkit._hang import HangDetector
from plkit._preemption import Preempted
from plkit._runstate import RunState
from plkit._state import RunningStage
from plkit.loops import evaluation
from plkit.loops._iteration import train_iterator
from plkit.loops.optimization import step_plateau_scheduler
from plkit.loops.training import run_training_epoch

__all__ = ["run_fit", "run_training"]


def _warn_if_nothing_trained(run: RunState) -> None:
    """Every training_step of the epoch returned None: the epoch trained nothing."""
    step = run.optimization
    if step is None or not run.lightning_module.automatic_optimization:
        return
    skipped, step.skipped = step.skipped, 0
    if skipped and skipped >= run.progress.batches_done:
        rank_zero_warn(
            f"`training_step` returned None for every batch of epoch {run.progress.epoch}"
            f" ({skipped} batches): nothing was trained. Return the loss (or a dict with"
            " 'loss') from training_step; None skips a batch."
        )


def _epoch_end(run: RunState) -> None:
    _warn_if_nothing_trained(run)
    calls, metrics = run.hooks, run.metrics
    run.progress.epoch_finished = True
    metrics.train_epoch_end(log=False)  # callbacks see the epoch aggregates
    calls.callbacks("on_train_epoch_end")
    calls.module_if("on_train_epoch_end")
    metrics.train_epoch_end()  # values the module logged in on_train_epoch_end
    calls.monitors("on_train_epoch_end")
    if run.lightning_module.automatic_optimization:
        for config in run.optim.lr_scheduler_configs:
            if (
                config.reduce_on_plateau
                and config.interval == "epoch"
                and (run.progress.epoch + 1) % config.frequency == 0
            ):
                step_plateau_scheduler(run, config)


def _no_training(run: RunState) -> bool:
    """Lightning skips training (no on_train_start) when there are no batches to train on."""
    if run.plan.limit_train_batches == 0:  # the loader is not even requested
        return True
    if run.loaders.num_training_batches == 0:
        _console.info("`Trainer.fit` stopped: No training batches.")
        return True
    return False


def run_fit(run: RunState) -> None:
    """Train from the run's current progress (zero, or a restored checkpoint).

    With several processes a hang detector watches every rank's progress (``plkit._hang``). A
    preemption signal ends fit after the current training batch, or (``Preempted``) in the
    middle of the sanity check or a validation: either way the checkpoint holds the last
    finished training step, and the next fit of the run continues from it.
    """
    detector = HangDetector.start_for(run)  # several processes: a stuck rank ends the job
    try:
        _run_fit(run)
    except Preempted:
        run.preempted = True
    finally:
        if detector is not None:
            detector.stop()
    if run.preempted:  # save where we are and leave; the next fit resumes from here
        run.preemption.stop(run)


def _run_fit(run: RunState) -> None:
    evaluation.run_sanity_check(run)
    run_training(run)


def run_training(run: RunState) -> None:
    """The training part of fit, from on_train_start to on_train_end (Lightning's fit loop
    ``run``; the tuner runs its trials with it, without the sanity check)."""
    calls, progress = run.hooks, run.progress
    if run.plan.limit_train_batches != 0:
        _dataloaders.train_loader_for_epoch(run)  # requested after the sanity check (Lightning)
    if _no_training(run):
        return
    # Already done (a finished run resumed, a Timer whose time is up): Lightning skips training
    # altogether, on_train_start and on_train_end included.
    if run.training_done():
        _console.fit_stopped(run)
        return
    if run.stopping():
        return
    if run.validates_this_epoch() and run.loaders.val_loaded_epoch is None:
        # no sanity check asked for them: Lightning requests them now (for the progress bar)
        run.state.stage = RunningStage.VALIDATING
        _dataloaders.setup_fit_val_data(run)
    _console.warn_eval_mode_modules(run.lightning_module)
    run.state.stage = RunningStage.TRAINING
    run.metrics.begin_fit()
    calls.both("on_train_start")
    while not run.training_done():
        if run.stopping():
            break
        loader = _dataloaders.train_loader_for_epoch(run)
        start = progress.resume_batch
        progress.resume_batch = 0
        progress.epoch_finished = False
        if start == 0:
            calls.both("on_train_epoch_start")
        if run.loaders.num_training_batches > start:
            with run.trainer.profiler.profile("run_training_epoch"):
                run_training_epoch(run, train_iterator(run, loader, start))
        if run.preempted:
            return
        _epoch_end(run)
        progress.epoch += 1
        progress.batches_done = 0
        progress.epoch_scheduler_steps = progress.epoch_val_batches = 0
        progress.epoch_finished = False
    else:
        _console.fit_stopped(run)
    calls.both("on_train_end")
