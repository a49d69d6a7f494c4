"""What the finders change on a running entry point for their trials, and how it comes back.

Both finders work inside ``trainer.fit`` (or validate / test / predict), from a callback hook
such as ``on_fit_start``: they write a temporary checkpoint, swap the callbacks, the loggers and
some limits for their trials, run the loop, then put everything back and reload the checkpoint
(weights, optimizer and callback states), as Lightning's tuner does.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pllog
from plcore import Callback
from plkit import _checkpointing, _console
from plkit._calls import HookCaller
from plkit._progress import EvalProgress, FitProgress
from plkit._runstate import LoaderState, OptimizerSetup, RunState, ValidationSchedule
from plkit._state import RunningStage

if TYPE_CHECKING:
    from plkit.loops.optimization import Optimization
    from plkit.trainer import Trainer

__all__ = ["Saved", "checkpoint_path", "restore_checkpoint", "runstate", "snapshot"]


def runstate(trainer: Trainer) -> RunState:
    """The run the trainer is in (the finders run only inside an entry point)."""
    run = trainer._runstate
    if run.calls is None or run.module is None:
        raise RuntimeError(
            "The tuner's finders run inside trainer.fit / validate / test / predict (from a "
            "callback hook); use plkit.tuner.Tuner(trainer) to run them on a model."
        )
    return run


@dataclass
class Saved:
    """What a trial changes, as it was before (restored by :meth:`restore`)."""

    callbacks: list[Callback]
    loggers: list[Any]
    plan: Any
    trainer_plan: Any
    calls: HookCaller | None
    optimization: Optimization | None
    optim: OptimizerSetup
    loaders: LoaderState
    schedule: ValidationSchedule
    progress: FitProgress
    eval_progress: EvalProgress
    stage: RunningStage | None

    def restore(self, run: RunState) -> None:
        """Put the run back as it was (the progress objects in place: others hold them)."""
        trainer = run.trainer
        trainer._callbacks = self.callbacks
        trainer._loggers = self.loggers
        run.plan, trainer._plan = self.plan, self.trainer_plan
        run.calls, run.optimization, run.optim = self.calls, self.optimization, self.optim
        run.loaders, run.schedule = self.loaders, self.schedule
        _copy_into(run.progress, self.progress)
        _copy_into(run.eval_progress, self.eval_progress)
        run.state.stage = self.stage
        run.should_stop = False


def _copy_into(target: Any, source: Any) -> None:
    for f in dataclasses.fields(target):
        setattr(target, f.name, copy.deepcopy(getattr(source, f.name)))


def snapshot(run: RunState) -> Saved:
    """What the trials will change, saved."""
    trainer = run.trainer
    return Saved(
        callbacks=trainer._callbacks,
        loggers=trainer._loggers,
        plan=run.plan,
        trainer_plan=trainer._plan,
        calls=run.calls,
        optimization=run.optimization,
        optim=run.optim,
        loaders=run.loaders,
        schedule=dataclasses.replace(run.schedule),
        progress=copy.deepcopy(run.progress),
        eval_progress=copy.deepcopy(run.eval_progress),
        stage=run.state.stage,
    )


def prepare_trial(run: RunState, callbacks: list[Callback], **limits: Any) -> None:
    """The trials' setting: these callbacks only, a DummyLogger in the loggers' place (none
    when there were none), the given flags (``max_steps``, ``limit_val_batches``, ...)."""
    trainer = run.trainer
    trainer._callbacks = list(callbacks)
    run.calls = HookCaller(trainer, run.lightning_module, trainer._callbacks, run.datamodule)
    trainer._loggers = [pllog.DummyLogger()] if trainer._loggers else []
    run.plan = trainer._plan = dataclasses.replace(run.plan, **limits)


def checkpoint_path(run: RunState, prefix: str) -> str:
    """``<default_root_dir>/.<prefix>_<uuid4>.ckpt``, the same on every rank, and written."""
    path = os.path.join(run.trainer.default_root_dir, f".{prefix}_{uuid.uuid4()}.ckpt")
    path = run.strategy.broadcast(path)
    run.trainer.save_checkpoint(path)
    return path


def restore_checkpoint(run: RunState, path: str, saved: Saved) -> None:
    """Lightning's ``_checkpoint_connector.restore(path)`` for the tuner's own checkpoint: the
    load hooks, weights, datamodule, callbacks, optimizers and schedulers (when fitting), the
    loops' progress; then the file is removed."""
    _console.info(f"Restoring states from the checkpoint path at {path}")
    checkpoint = run.strategy.load_checkpoint(path)
    _checkpointing.load_modules_and_callbacks(run, checkpoint)
    if run.state.fn == "fit":
        _checkpointing.load_optimizer_states(run, checkpoint)
    _copy_into(run.progress, saved.progress)
    _copy_into(run.eval_progress, saved.eval_progress)
    message = "Restored all states" if run.state.fn == "fit" else "Loaded model weights"
    _console.info(f"{message} from the checkpoint at {path}")
    # As in Lightning, whose checkpoint connector keeps the last path it restored from:
    # ``trainer.ckpt_path`` now names the (removed) temporary file, and a fit whose
    # on_fit_start ran a finder reports it once more when the fit's own restore ends.
    run.ckpt_path = path
    run.strategy.barrier("_CheckpointConnector.resume_end")
    run.strategy.remove_checkpoint(path)
