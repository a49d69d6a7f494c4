"""What goes into a checkpoint and how a run is restored from one.

The layout is Lightning 2.x's (``epoch``, ``global_step``, ``state_dict``, ``optimizer_states``,
``lr_schedulers``, ``loops``, ``callbacks``, ``hyper_parameters``, ...), so that Lightning reads
and resumes plkit's files. ``loops["fit_loop"]["state_dict"]["exact_resume"]`` adds what an
*exact* resume needs: the position inside the epoch, the RNG states at the start of the epoch
(they decide a shuffled loader's order) and now, and gradients accumulated inside an unfinished
accumulation window. Everything is tensors and plain types, so the file loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
import re
import warnings
from functools import partial
from typing import TYPE_CHECKING, Any

import torch

from plcore.checkpoint import (
    CheckpointError,
    TrainingState,
    build_checkpoint,
    check_plain,
    is_sharded_checkpoint,
)
from plcore.utilities import cloud_io
from plcore.utilities.rank_zero import rank_zero_warn
from plcore.utilities.seed import collect_rng_states
from plkit import _console
from plkit._preemption import hpc_run_of, newest_hpc_checkpoint, run_identity
from plkit._runstate import RunState
from plkit._state import RunningStage, TrainerFn

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = [
    "check_ckpt_exists",
    "dump_checkpoint",
    "load_modules_and_callbacks",
    "load_optimizer_states",
    "restore_model_and_callbacks",
    "restore_training_state",
    "resolve_ckpt_path",
    "select_ckpt_path",
]


def _exact_state(run: RunState) -> dict[str, Any]:
    """What plkit needs to resume exactly where it stopped (kept inside Lightning's layout)."""
    p = run.progress
    # Inside on_train_epoch_end the epoch is done but not yet counted: resume at the next one.
    # Anywhere else (mid-epoch, between epochs, after fit, during test) resume where we are.
    in_epoch = not p.epoch_finished
    val_now = run.eval_progress.batches_done if _validating_in_fit(run) else 0
    state: dict[str, Any] = {
        "epoch": p.epoch + (0 if in_epoch else 1),
        "batch": p.batches_done if in_epoch else 0,
        "global_step": p.global_step,
        "batches_that_stepped": p.batches_that_stepped,
        "total_batch_idx": p.total_batch_idx,
        # inside a fit-time validation, the state training will continue from is the one saved
        # when validation began (it is restored when validation ends)
        "rng_states": run.rng_at_eval_start or collect_rng_states(),
        "epoch_rng_state": p.epoch_rng if in_epoch else None,
        # the validation counters (a pass in progress counts: the resumed run does not redo it)
        "epoch_scheduler_steps": p.epoch_scheduler_steps if in_epoch else 0,
        "epoch_val_batches": p.epoch_val_batches + val_now if in_epoch else 0,
        "fit_val_batches": val_now or run.eval_progress.fit_val_batches,
    }
    if (
        in_epoch
        and run.plan.accumulate_grad_batches > 1
        and p.batches_done % run.plan.accumulate_grad_batches
    ):
        state["accumulated_grads"] = [
            None if param.grad is None else param.grad.detach().clone()
            for param in run.lightning_module.parameters()
        ]
    return state


def _counts(*names: str, total: int, current: int, **exceptions: tuple[int, int]) -> Any:
    """A Lightning progress record: ``{"total": {...}, "current": {...}}`` of the named counters."""
    out = {"total": {n: total for n in names}, "current": {n: current for n in names}}
    for name, (tot, cur) in exceptions.items():
        out["total"][name], out["current"][name] = tot, cur
    return out


_BATCH = ("ready", "completed", "started", "processed")


def _idle_loop(is_last: bool = True) -> dict[str, Any]:
    """An evaluation loop's record: plkit does not resume inside evaluation, so all zero."""
    loop: dict[str, Any] = {
        "state_dict": {},
        "batch_progress": _counts(*_BATCH, total=0, current=0),
    }
    if is_last:
        loop["batch_progress"]["is_last_batch"] = False
    return loop


def _fit_val_counts(run: RunState) -> dict[str, Any]:
    """Fit's validation loop counters, as Lightning keeps them: ``current`` the batches of this
    pass (inside a validation: a checkpoint saved in its end hooks) or of the last one, ``total``
    those of the epoch's passes so far (none before fit first validates, the sanity check aside)."""
    ep, before = run.eval_progress, run.progress.epoch_val_batches
    if _validating_in_fit(run):
        counts = _counts(*_BATCH, total=before + ep.batches_done, current=ep.batches_done)
        counts["is_last_batch"] = ep.batches_done > 0
        return counts
    counts = _counts(*_BATCH, total=before, current=ep.fit_val_batches)
    counts["is_last_batch"] = ep.fit_val_batches > 0
    return counts


def _validating_in_fit(run: RunState) -> bool:
    return run.state.stage == RunningStage.VALIDATING and run.state.fn == TrainerFn.FITTING


def _loop_state(run: RunState) -> dict[str, Any]:
    """Lightning's ``loops`` layout with plkit's counters, so Lightning resumes plkit files too.

    The counters Lightning reads back (epoch, batch and optimizer-step progress, the logger step)
    are filled in from plkit's progress; the evaluation loops' are zero (nothing resumes inside an
    evaluation). plkit's exact-resume state goes in ``fit_loop["state_dict"]["exact_resume"]``,
    which Lightning's loader ignores.
    """
    p = run.progress
    # an exception inside a batch, before it was processed (an on_exception checkpoint): that
    # batch counts as ready (and started, once its optimization began), nothing else of it
    failed = 0 if p.epoch_finished else p.failed_batch
    between = not failed and not p.epoch_finished and p.batches_done == 0  # before a 1st batch
    in_batch = not p.epoch_finished and not between  # at a batch end or a validation inside it
    epoch = p.epoch
    epoch_counts = _counts(
        *_BATCH,
        total=epoch if between else epoch + 1,
        current=epoch if between else epoch + 1,
        completed=(epoch, epoch),
        **({"processed": (epoch, epoch)} if in_batch else {}),
    )
    # Lightning counts a batch completed after its end hooks (before a validation that follows
    # it), and a stepped batch for the loggers after that validation.
    lag = 1 if in_batch and not failed else 0
    completed_lag = 0 if _validating_in_fit(run) else lag
    done = p.batches_done if not between else 0
    batches = _counts(
        *_BATCH,
        total=p.total_batch_idx,
        current=done,
        completed=(p.total_batch_idx - completed_lag, done - completed_lag),
    )
    if failed >= 2:
        for key, count in (("ready", 1), ("started", int(failed == 3))):
            batches["total"][key] += count
            batches["current"][key] += count
    batches["is_last_batch"] = bool(p.is_last_batch) and not between
    acc = max(int(run.plan.accumulate_grad_batches), 1)
    steps_now = -(-done // acc) if p.epoch_finished else done // acc
    automatic = run.lightning_module.automatic_optimization
    auto_steps = (p.global_step, steps_now) if automatic else (0, 0)
    # Lightning never resets the manual steps' current count within a fit: it is the total
    manual_steps = (0, 0) if automatic else (p.global_step, p.global_step)
    # the failed batch was inside the optimizer's step (its closure) when it ended a window
    stepping = failed == 3 and automatic and ((done + 1) % acc == 0 or p.is_last_batch)
    schedulers = sum(
        int(getattr(c.scheduler, "last_epoch", 0)) for c in run.optim.lr_scheduler_configs
    )
    fit_loop = {
        "state_dict": {"exact_resume": _exact_state(run)},
        "epoch_loop.state_dict": {"_batches_that_stepped": p.batches_that_stepped - lag},
        "epoch_loop.batch_progress": batches,
        "epoch_loop.scheduler_progress": _counts(
            "ready", "completed", total=schedulers, current=p.epoch_scheduler_steps
        ),
        "epoch_loop.automatic_optimization.state_dict": {},
        "epoch_loop.automatic_optimization.optim_progress": {
            "optimizer": {
                "step": _counts(
                    "ready",
                    "completed",
                    total=auto_steps[0],
                    current=auto_steps[1],
                    ready=(auto_steps[0] + stepping, auto_steps[1] + stepping),
                ),
                "zero_grad": _counts(
                    "ready", "completed", "started", total=auto_steps[0], current=auto_steps[1]
                ),
            }
        },
        "epoch_loop.manual_optimization.state_dict": {},
        "epoch_loop.manual_optimization.optim_step_progress": _counts(
            "ready", "completed", total=manual_steps[0], current=manual_steps[1]
        ),
        "epoch_loop.val_loop.state_dict": {},
        "epoch_loop.val_loop.batch_progress": _fit_val_counts(run),
        "epoch_progress": epoch_counts,
    }
    return {
        "fit_loop": fit_loop,
        "validate_loop": _idle_loop(),
        "test_loop": _idle_loop(),
        "predict_loop": _idle_loop(is_last=False),
    }


def dump_checkpoint(run: RunState, weights_only: bool) -> dict[str, Any]:
    """Fill plcore's checkpoint layout from the run, then call the save hooks in Lightning's
    order."""
    model, dm = run.lightning_module, run.datamodule
    training = None
    if not weights_only:
        callbacks = {}
        for cb in run.trainer.callbacks:
            state = cb.state_dict()
            if state:
                callbacks[cb.state_key] = state
        precision_state = run.strategy.precision_state_dict()
        training = TrainingState(
            callbacks=callbacks,
            optimizer_states=[run.strategy.optimizer_state(opt) for opt in run.optim.optimizers],
            lr_schedulers=[c.scheduler.state_dict() for c in run.optim.lr_scheduler_configs],
            precision=(type(run.strategy.precision).__qualname__, precision_state)
            if precision_state
            else None,
        )
    checkpoint = build_checkpoint(
        epoch=run.progress.epoch,
        global_step=run.progress.global_step,
        state_dict=run.strategy.module_state_dict(model),
        loops=_loop_state(run),
        module=model,
        datamodule=dm,
        training=training,
        datamodule_state=partial(run.hooks.datamodule_call, "state_dict")
        if dm is not None
        else None,
    )
    if not weights_only:
        run.hooks.callbacks("on_save_checkpoint", checkpoint)
    run.hooks.module("on_save_checkpoint", checkpoint)
    if dm is not None:
        dm.on_save_checkpoint(checkpoint)
    check_plain(checkpoint)
    return checkpoint


def restore_model_and_callbacks(run: RunState, checkpoint: dict[str, Any]) -> None:
    """Weights, datamodule and callback state (before ``configure_optimizers``)."""
    _console.info(f"Restoring states from the checkpoint path at {run.ckpt_path}")
    load_modules_and_callbacks(run, checkpoint)
    if run.state.fn != TrainerFn.FITTING:  # fit restores the training state next, then reports
        _console.info(f"Loaded model weights from the checkpoint at {run.ckpt_path}")


def load_modules_and_callbacks(run: RunState, checkpoint: dict[str, Any]) -> None:
    """The module's weights, the datamodule's and the callbacks' state, with their load hooks
    (no messages: the tuner restores its own checkpoint with this too)."""
    model, dm = run.lightning_module, run.datamodule
    if "state_dict" not in checkpoint:
        raise CheckpointError(
            f"{run.ckpt_path} has no 'state_dict': it is not a plkit or Lightning checkpoint "
            "(a bare model.state_dict() file? load that with model.load_state_dict(torch.load(...)))."
        )
    run.hooks.module("on_load_checkpoint", checkpoint)
    _load_weights(run, model, checkpoint["state_dict"])
    if dm is not None:
        dm.on_load_checkpoint(checkpoint)
        if type(dm).__qualname__ in checkpoint:
            run.hooks.datamodule_call("load_state_dict", checkpoint[type(dm).__qualname__])
    _warn_missing_callbacks(run, checkpoint.get("callbacks"))
    run.hooks.callbacks("on_load_checkpoint", checkpoint)
    states = checkpoint.get("callbacks") or {}
    for cb in run.trainer.callbacks:
        state = states.get(cb.state_key)
        if state is None:
            state = states.get(type(cb).__qualname__)  # older or simpler keys
        if state is not None:
            cb.load_state_dict(state)


def _warn_missing_callbacks(run: RunState, states: dict[str, Any] | None) -> None:
    """The checkpoint holds state of callbacks this Trainer lacks: it stays unused (Lightning's
    warning, in its words)."""
    if not states:
        return
    missing = states.keys() - {cb.state_key for cb in run.trainer.callbacks}
    if missing:
        rank_zero_warn(
            "Be aware that when using `ckpt_path`, callbacks used to create the checkpoint need to"
            " be provided during `Trainer` instantiation. Please add the following callbacks:"
            f" {list(missing)}.",
        )


def _load_weights(run: RunState, model: torch.nn.Module, state_dict: dict[str, Any]) -> None:
    missing, unexpected = run.strategy.load_module_state_dict(model, state_dict, strict=False)
    if missing or unexpected:
        raise RuntimeError(
            f"The checkpoint's weights do not fit {type(model).__name__}. Missing keys: "
            f"{list(missing)}; unexpected keys: {list(unexpected)}. Check that the model is built "
            "with the same hyper-parameters as the one that wrote the checkpoint."
        )


def restore_training_state(run: RunState, checkpoint: dict[str, Any]) -> None:
    """Optimizers, schedulers, precision and loop progress (after ``configure_optimizers``)."""
    states = checkpoint.get("optimizer_states")
    if states is None:
        raise CheckpointError(
            f"{run.ckpt_path} holds weights only (no 'optimizer_states'), so training cannot "
            "resume from it. Load it with Model.load_from_checkpoint(path) and start a new fit."
        )
    if len(states) != len(run.optim.optimizers):
        raise ValueError(
            f"The checkpoint has {len(states)} optimizer state(s) but configure_optimizers returned "
            f"{len(run.optim.optimizers)} optimizer(s); resume with the same optimizer setup."
        )
    load_optimizer_states(run, checkpoint)
    _restore_loops(run, checkpoint)
    _console.info(f"Restored all states from the checkpoint at {run.ckpt_path}")


def load_optimizer_states(run: RunState, checkpoint: dict[str, Any]) -> None:
    """Optimizers, schedulers and the precision's state (the loops' progress aside)."""
    states = checkpoint.get("optimizer_states") or []
    for opt, state in zip(run.optim.optimizers, states):
        run.strategy.load_optimizer_state(opt, state)
    for config, state in zip(run.optim.lr_scheduler_configs, checkpoint.get("lr_schedulers", [])):
        config.scheduler.load_state_dict(state)
    precision_key = type(run.strategy.precision).__qualname__
    if precision_key in checkpoint:
        run.strategy.load_precision_state_dict(checkpoint[precision_key])


def _restore_loops(run: RunState, checkpoint: dict[str, Any]) -> None:
    p = run.progress
    fit_loop = (checkpoint.get("loops") or {}).get("fit_loop")
    fit_loop = fit_loop if isinstance(fit_loop, dict) else {}
    loop = (fit_loop.get("state_dict") or {}).get("exact_resume")
    if loop is None and "batch" in fit_loop:  # written by plkit before it used Lightning's layout
        loop = fit_loop
    if not isinstance(loop, dict):  # a Lightning checkpoint: exact at epoch ends only
        _restore_lightning_loops(p, checkpoint, fit_loop)
        run.eval_progress.fit_val_batches = _count(
            fit_loop, "epoch_loop.val_loop.batch_progress", "current"
        )
        return
    p.epoch, p.resume_batch = int(loop["epoch"]), int(loop["batch"])
    p.global_step = int(loop["global_step"])
    p.batches_that_stepped = int(loop["batches_that_stepped"])
    p.total_batch_idx = int(loop["total_batch_idx"])
    p.epoch_scheduler_steps = int(loop.get("epoch_scheduler_steps", 0))
    p.epoch_val_batches = int(loop.get("epoch_val_batches", 0))
    run.eval_progress.fit_val_batches = int(loop.get("fit_val_batches", 0))
    run.pending_rng = loop.get("rng_states")
    p.epoch_rng = loop.get("epoch_rng_state")
    grads = loop.get("accumulated_grads")
    if grads is not None:
        for param, grad in zip(run.lightning_module.parameters(), grads):
            param.grad = None if grad is None else grad.to(param.device)


def _restore_lightning_loops(p: Any, checkpoint: dict[str, Any], fit_loop: dict[str, Any]) -> None:
    """Resume from Lightning's own counters: at an epoch end, the next epoch; inside an epoch,
    the next batch of it (as Lightning resumes, without its order guarantee)."""
    p.global_step = int(checkpoint.get("global_step", 0))
    stepped = (fit_loop.get("epoch_loop.state_dict") or {}).get("_batches_that_stepped")
    p.batches_that_stepped = p.global_step if stepped is None else int(stepped)
    epochs = (fit_loop.get("epoch_progress") or {}).get("current")
    batches = fit_loop.get("epoch_loop.batch_progress") or {}
    if not isinstance(epochs, dict) or "current" not in batches:  # an older layout
        p.epoch = int(checkpoint.get("epoch", 0)) + 1
        return
    completed, processed = int(epochs["completed"]), int(epochs["processed"])
    if processed > completed:  # saved in on_train_epoch_end: that epoch is over
        p.epoch, p.resume_batch = processed, 0
    elif int(epochs["started"]) > completed:  # saved inside the epoch
        p.epoch, p.resume_batch = completed, int(batches["current"]["processed"])
        p.epoch_scheduler_steps = _count(fit_loop, "epoch_loop.scheduler_progress", "current")
        p.epoch_val_batches = _count(fit_loop, "epoch_loop.val_loop.batch_progress", "total")
    else:  # saved between epochs (e.g. after fit)
        p.epoch, p.resume_batch = completed, 0
    p.total_batch_idx = int(batches["total"]["processed"])


def _count(fit_loop: dict[str, Any], key: str, part: str) -> int:
    """A completed count of Lightning's ``loops`` (0 where the layout has none)."""
    counts = (fit_loop.get(key) or {}).get(part) or {}
    return int(counts.get("completed", 0)) if isinstance(counts, dict) else 0


def _newest(paths: list[str]) -> str | None:
    paths = [p for p in paths if cloud_io.isfile(p) or is_sharded_checkpoint(p)]
    return max(paths, key=cloud_io.modified) if paths else None


def resolve_ckpt_path(trainer: Trainer, ckpt_path: Any, fn: str) -> str | None:
    """``None``, a path, ``"last"``, ``"best"`` (or ``"hpc"`` / ``"auto"``) -> a file path or None."""
    if ckpt_path is None:
        return None
    if not ckpt_path:  # "", 0, False: Lightning's error, before anything else runs
        raise ValueError(
            f"`.{fn}()` found no path for the best weights: {ckpt_path!r}. Please specify a path"
            f" for a checkpoint `.{fn}(ckpt_path=PATH)`"
        )
    if not isinstance(ckpt_path, (str, os.PathLike)):  # 3, 2.5: a file that is not there
        return str(ckpt_path)  # (check_ckpt_exists: Lightning's "Checkpoint file not found")
    ckpt_path = cloud_io.check_path(ckpt_path, "ckpt_path")
    if ckpt_path == "best":
        if len(trainer.checkpoint_callbacks) > 1:
            warnings.warn(
                f'`.{fn}(ckpt_path="best")` is called with Trainer configured with multiple'
                " `ModelCheckpoint` callbacks. It will use the best checkpoint path from first"
                " checkpoint callback.",
                stacklevel=3,
            )
        first = trainer.checkpoint_callback
        if first is None:
            raise ValueError(
                f'`.{fn}(ckpt_path="best")` is set but `ModelCheckpoint` is not configured.'
            )
        if trainer.fast_dev_run:  # it saves nothing: there is no best checkpoint to load
            raise ValueError(
                f'You cannot execute `.{fn}(ckpt_path="best")` with `fast_dev_run=True`. Please'
                f" pass an exact checkpoint path to `.{fn}(ckpt_path=...)`"
            )
        if not first.best_model_path:
            raise ValueError(
                f'`.{fn}(ckpt_path="best")` is set but `ModelCheckpoint` is not configured to'
                " save the best model."
            )
        return first.best_model_path
    if ckpt_path == "last":
        found = _newest(_last_files(trainer))
        if found is None:
            # not an error: "last" can be set once and for all, before the first run
            warnings.warn(
                f'.{fn}(ckpt_path="last") is set, but there is no last checkpoint available.'
                " No checkpoint will be loaded. HINT: Set `ModelCheckpoint(..., save_last=True)`.",
                stacklevel=3,
            )
        return found
    if ckpt_path == "auto":
        return _find_any(trainer)
    if ckpt_path == "hpc":  # the newest preemption checkpoint in default_root_dir
        found = newest_hpc_checkpoint(trainer.default_root_dir)
        if found is None:
            raise ValueError(
                f'`.{fn}(ckpt_path="hpc")` is set but no HPC checkpoint was found. Please pass an'
                f" exact checkpoint path to `.{fn}(ckpt_path=...)`"
            )
        return found
    if (
        cloud_io.isdir(ckpt_path)
        and not cloud_io.isfile(ckpt_path)
        and not is_sharded_checkpoint(ckpt_path)
    ):
        raise CheckpointError(
            f"ckpt_path={ckpt_path!r} is a directory; pass a checkpoint file inside it, or 'last'."
        )
    # a missing file is found when the run reads it (check_ckpt_exists), after the step checks
    return ckpt_path


def check_ckpt_exists(path: str) -> None:
    """Lightning's error for a ``ckpt_path`` that is not there, after its "Restoring" line."""
    if not cloud_io.exists(path):
        _console.info(f"Restoring states from the checkpoint path at {path}")
        raise FileNotFoundError(f"Checkpoint file not found: {path}")


def _on_exception_paths(trainer: Trainer) -> list[str]:
    """The files the OnExceptionCheckpoint callbacks write (candidates for ``"last"``)."""
    from plkit.callbacks.on_exception_checkpoint import OnExceptionCheckpoint

    return [cb.ckpt_path for cb in trainer.callbacks if isinstance(cb, OnExceptionCheckpoint)]


def _last_files(trainer: Trainer) -> list[str]:
    """``last.ckpt`` / ``last-v1.ckpt``... in each ModelCheckpoint's folder (as Lightning looks),
    and the OnExceptionCheckpoint files."""
    found: list[str] = _on_exception_paths(trainer)
    for cb in trainer.checkpoint_callbacks:
        if not hasattr(cb, "CHECKPOINT_NAME_LAST"):  # not a ModelCheckpoint
            continue
        dirpath = getattr(cb, "dirpath", None)
        name = getattr(cb, "CHECKPOINT_NAME_LAST", "last")
        ext = getattr(cb, "FILE_EXTENSION", ".ckpt")
        if not dirpath or not cloud_io.isdir(dirpath):
            continue
        pattern = re.compile(rf"^{re.escape(name)}(-(\d+))?")
        found += [
            os.path.join(dirpath, entry)
            for entry in cloud_io.listdir(dirpath)
            if entry.endswith(ext) and pattern.match(entry[: -len(ext)])
        ]
    return found


def _find_any(trainer: Trainer) -> str | None:
    """``resume="auto"``: the newest checkpoint anywhere under ``default_root_dir``."""
    candidates: list[str] = []
    for cb in trainer.checkpoint_callbacks:
        if getattr(cb, "last_model_path", ""):
            candidates.append(cb.last_model_path)
        dirpath = getattr(cb, "dirpath", None)
        if dirpath:
            candidates += cloud_io.glob(os.path.join(dirpath, "*.ckpt"))
    root = trainer.default_root_dir
    candidates += cloud_io.glob(os.path.join(root, "**", "*.ckpt"))
    return _newest(candidates)


def _own_preemption_checkpoint(run: RunState) -> str | None:
    """The newest ``hpc_ckpt_N.ckpt`` in ``default_root_dir`` if this run wrote it (a requeued
    job, the same command rerun, the same ``PLKIT_RUN_ID``); one left by another run is
    named and left alone."""
    hpc = newest_hpc_checkpoint(run.trainer.default_root_dir)
    if hpc is None:
        return None
    owner, this = hpc_run_of(hpc), run_identity()
    if owner == this:
        return hpc
    _console.info(
        f"Not resuming from {hpc}: it was left by another run ({owner or 'not recorded'}; this"
        f" one is {this}). To continue that run, pass ckpt_path={hpc!r}, or rerun it with the"
        " same command, job or PLKIT_RUN_ID."
    )
    return None


def select_ckpt_path(run: RunState, ckpt_path: Any) -> str | None:
    """The checkpoint an entry point loads: the one asked for; after fit, evaluation without a
    model loads fit's best (with Lightning's warning); fit resumes a preemption checkpoint left
    in ``default_root_dir``, or (``resume="auto"``) the newest checkpoint."""
    fn = run.state.fn
    assert fn is not None
    on_exception = _on_exception_paths(run.trainer)
    if ckpt_path is None and fn != TrainerFn.FITTING and run.args.model_connected_only:
        ckpt_path = "best"
        tip = (
            " There is also an on-exception checkpoint available, however it is used by default"
            " only when fitting."
            if on_exception
            else ""
        )
        rank_zero_warn(
            f"`.{fn.value}(ckpt_path=None)` was called without a model. The best model of the previous"
            f" `fit` call will be used.{tip} You can pass `.{fn.value}(ckpt_path='best')` to use the"
            f" best model or `.{fn.value}(ckpt_path='last')` to use the last model. If you pass a value,"
            " this warning will be silenced."
        )
    if ckpt_path is None and fn == TrainerFn.FITTING:
        hpc = _own_preemption_checkpoint(run)
        if hpc is not None:
            run.resumed_hpc = hpc
            return hpc
        if on_exception:  # Lightning: fit resumes from the newest "last" (its wording)
            ckpt_path = "last"
            rank_zero_warn(
                f"`.{fn.value}(ckpt_path=None)` was called without a model. The last model of the"
                f" previous `fit` call will be used. You can pass `{fn.value}(ckpt_path='best')` to use"
                f" the best model or `{fn.value}(ckpt_path='last')` to use the last model. If you pass"
                " a value, this warning will be silenced."
            )
        elif run.trainer.resume == "auto":
            ckpt_path = "auto"
    return resolve_ckpt_path(run.trainer, ckpt_path, fn.value)
