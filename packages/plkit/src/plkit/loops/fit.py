"""The fit loop: sanity check, then epochs until a stopping condition holds.

Stops when ``max_epochs`` or ``max_steps`` is reached, when ``max_time`` has passed, or when
``trainer.should_stop`` is set and ``min_epochs`` / ``min_steps`` are met.
"""

from __future__ import annotations

from typing import Any

from plkit import _console
from plkit._state import RunningStage
from plkit.loops import evaluation
from plkit.loops.training import run_training_epoch

__all__ = ["run_fit"]


def _epoch_end(trainer: Any) -> None:
    calls = trainer._calls
    trainer._progress.epoch_finished = True
    trainer._metrics.train_epoch_end(log=False)  # callbacks see the epoch aggregates
    calls.callbacks("on_train_epoch_end")
    calls.module_if("on_train_epoch_end")
    trainer._metrics.train_epoch_end()  # values the module logged in on_train_epoch_end
    calls.monitors("on_train_epoch_end")
    if trainer.lightning_module.automatic_optimization:
        for config in trainer.lr_scheduler_configs:
            if (
                config.reduce_on_plateau
                and config.interval == "epoch"
                and (trainer.current_epoch + 1) % config.frequency == 0
            ):
                trainer._step_plateau_scheduler(config)


def _no_training(trainer: Any) -> bool:
    """Lightning skips training (no on_train_start) when there are no batches to train on."""
    if trainer._plan.limit_train_batches == 0:  # the loader is not even requested
        return True
    if trainer.num_training_batches == 0:
        _console.info("`Trainer.fit` stopped: No training batches.")
        return True
    return False


def run_fit(trainer: Any) -> None:
    """Train from the trainer's current progress (zero, or a restored checkpoint)."""
    calls, progress = trainer._calls, trainer._progress
    evaluation.run_sanity_check(trainer)
    if trainer._plan.limit_train_batches != 0:
        trainer._train_loader_for_epoch()  # requested after the sanity check, as in Lightning
    if _no_training(trainer):
        return
    # Already done (a finished run resumed, a Timer whose time is up): Lightning skips training
    # altogether, on_train_start and on_train_end included.
    if trainer._training_done():
        _console.fit_stopped(trainer)
        return
    if trainer.should_stop and trainer._can_stop_early():
        return
    if (
        trainer._validation_enabled
        and trainer._val_due_this_epoch()
        and trainer._val_loaded_epoch is None
    ):  # no sanity check asked for them: Lightning requests them now (for the progress bar)
        trainer.state.stage = RunningStage.VALIDATING
        trainer._setup_fit_val_data()
    _console.warn_eval_mode_modules(trainer.lightning_module)
    trainer.state.stage = RunningStage.TRAINING
    trainer._metrics.begin_fit()
    calls.both("on_train_start")
    while not trainer._training_done():
        if trainer.should_stop and trainer._can_stop_early():
            break
        loader = trainer._train_loader_for_epoch()
        start = progress.resume_batch
        progress.resume_batch = 0
        progress.epoch_finished = False
        if start == 0:
            calls.both("on_train_epoch_start")
        if trainer.num_training_batches > start:
            run_training_epoch(trainer, loader, start)
        if trainer._preempted:  # save where we are and leave; the next fit resumes from here
            trainer._preemption.stop(trainer)
            return
        _epoch_end(trainer)
        progress.epoch += 1
        progress.batches_done = 0
        progress.epoch_finished = False
    else:
        _console.fit_stopped(trainer)
    calls.both("on_train_end")
