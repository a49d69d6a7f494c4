"""One run of fit / validate / test / predict inside a process, from set-up to teardown.

Order (``spec/hook-order.md``): configure_callbacks, prepare_data (local rank 0), each
logger's ``experiment`` (started on rank 0), setup (datamodule, callbacks, module),
configure_model, [checkpoint: weights and callbacks], configure_optimizers, on_fit_start,
[checkpoint: optimizers, schedulers, loops], the loop,
on_fit_end, teardown. An exception anywhere calls ``on_exception`` and finalizes the loggers
with "failed" instead of tearing down (:func:`interrupt`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from plcore import LightningModule
from plcore.optimizer import LightningOptimizer
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.parsing import clean_namespace
from plcore.utilities.rank_zero import rank_zero_warn
from plkit import _checkpointing, _console, _dataloaders, _profiling, _setup
from plkit._calls import HookCaller
from plkit._hparams_logging import log_hyperparams
from plkit._model_setup import setup_model
from plkit._optimizers import check_for_mode, parse_optimizers
from plkit._preemption import Preempted, retire_hpc_checkpoints, run_identity
from plkit._runstate import OptimizerSetup, RunState
from plkit._state import RunningStage, TrainerFn, TrainerStatus
from plkit.loops import evaluation
from plkit.loops.fit import run_fit
from plkit.loops.optimization import Optimization
from plkit.loops.prediction import run_prediction
from plkit.utilities.exceptions import _TunerExitException

__all__ = ["interrupt", "run_stage"]


def run_stage(run: RunState, ckpt_path: Any) -> Any:
    """Set up, run the entry point's loop, tear down; returns what the entry point returns."""
    model, dm, trainer, fn = run.lightning_module, run.datamodule, run.trainer, run.state.fn
    assert fn is not None
    stage = fn  # the hooks get the TrainerFn member, as in Lightning
    _setup.check_data_arguments(run.args)
    # chosen before anything else runs, as Lightning does (its warnings and errors come first)
    path = _checkpointing.select_ckpt_path(run, ckpt_path)
    if fn == TrainerFn.FITTING:  # after the checkpoint is chosen: its errors leave them unset
        run.plan = trainer._plan = _setup.resolve_fit_limits(trainer._plan, trainer.callbacks)
    clean_namespace(model.hparams)  # unpicklable values leave, with a warning (as in Lightning)
    if run.world_size > 1:  # one process: no reduction at all (the store's sync stays None)
        run.metrics.set_sync(run.strategy.reduce)
    _agree_on_logger_versions(run)
    with trainer.profiler.profile(f"[LightningModule]{type(model).__name__}.configure_callbacks"):
        trainer.callbacks[:] = _setup.merge_configured_callbacks(trainer.callbacks, model)
    _profiling.setup_profiler(run)
    calls = run.calls = _profiling.make_hook_caller(
        trainer, model, trainer.callbacks, dm, run.strategy
    )
    _setup.check_loop_configuration(model, fn)
    if fn == TrainerFn.FITTING:
        _console.warn_val_loop_mismatch(model, _dataloaders.defines_val_data(run))
    _check_removed_hooks(model, fn)
    _prepare_data(run, calls)
    _start_logger_experiments(run)
    if dm is not None:
        calls.datamodule_call("setup", stage=stage)  # by keyword, as Lightning calls them
    calls.callbacks("setup", stage=stage)
    calls.module("setup", stage=stage)
    with run.strategy.tensor_init_context():  # as Lightning: layers made there start on the device
        calls.module_if("configure_model")
    setup_model(run)
    if path:
        _checkpointing.check_ckpt_exists(path)
    checkpoint = (
        run.strategy.load_checkpoint(path, weights_only=run.args.weights_only) if path else None
    )
    run.ckpt_path = path
    if checkpoint is not None:
        _checkpointing.restore_model_and_callbacks(run, checkpoint)
    _console.cuda_rank_line(trainer)  # where Lightning's strategy sets the accelerator up
    run.metrics.begin_run()  # each entry point starts with empty metrics, as in Lightning
    if trainer.enable_autolog_hparams:
        log_hyperparams(run)
    try:
        result = _run_loop(run, fn, checkpoint)
    except _TunerExitException:  # the tuner is done: teardown as after a finished run
        run.preempted, result = False, None
    if run.preempted:
        return None
    if dm is not None:
        calls.datamodule_call("teardown", stage=stage)
    calls.callbacks("teardown", stage=stage)
    calls.module("teardown", stage=stage)
    _finalize_loggers(run, "success")
    trainer.profiler.describe()  # the report, after the teardown hooks (Lightning's order)
    run.strategy.teardown()
    return result


def _run_loop(run: RunState, fn: TrainerFn, checkpoint: dict[str, Any] | None) -> Any:
    """The entry point's loop; a preempted run closes its loggers here (no teardown hooks)."""
    trainer, stage = run.trainer, fn.value
    if fn == TrainerFn.FITTING:
        _fit(run, checkpoint)
        result = None
        if run.preempted:  # no teardown hooks: the run is not over, it will resume
            _finalize_loggers(run, "interrupted")
            trainer.profiler.teardown(stage)
            run.strategy.teardown()
            return None
        if run.resumed_hpc is not None and run.strategy.is_global_zero:
            # the preempted run is complete: its checkpoints must not resume anything again
            retire_hpc_checkpoints(trainer.default_root_dir, run_identity())
    else:
        try:
            result = _predict(run) if fn == TrainerFn.PREDICTING else _evaluate(run, fn)
        except Preempted:  # nothing to resume: close the loggers and leave (128 + signal)
            run.preempted = True
            _finalize_loggers(run, "interrupted")
            trainer.profiler.teardown(stage)
            run.strategy.teardown()
            return None
    return result


#: The entry points that refuse a module defining each of ``plcore.hooks.REMOVED_HOOKS``.
_REMOVED_HOOKS = {
    "training_epoch_end": (TrainerFn.FITTING,),
    "validation_epoch_end": (TrainerFn.FITTING, TrainerFn.VALIDATING),
    "test_epoch_end": (TrainerFn.TESTING,),
}


def _check_removed_hooks(model: LightningModule, fn: TrainerFn) -> None:
    """A 1.x ``*_epoch_end`` hook would silently never run: refuse it, as Lightning does."""
    for name, fns in _REMOVED_HOOKS.items():
        if fn in fns and callable(getattr(model, name, None)):
            raise NotImplementedError(
                f"Support for `{name}` has been removed in v2.0.0. `{type(model).__name__}` "
                f"implements this method. You can use the `on_{name.replace('training', 'train')}`"
                " hook instead. To access outputs, save them in-memory as instance attributes."
            )


def _agree_on_logger_versions(run: RunState) -> None:
    """Every rank uses rank 0's logger version (each would otherwise scan the folder itself)."""
    if run.world_size == 1:
        return
    for logger in run.trainer.loggers:
        version = getattr(type(logger), "version", None)
        if isinstance(version, property) and version.fset is not None:  # a settable version
            logger.version = run.strategy.broadcast(logger.version, src=0)


def _prepare_data(run: RunState, calls: HookCaller) -> None:
    if run.strategy.local_rank == 0:
        calls.datamodule_hook("prepare_data")
        calls.module("prepare_data")
    run.strategy.barrier("prepare_data")


def _start_logger_experiments(run: RunState) -> None:
    """Touch each logger's ``experiment`` before any ``setup`` hook, as Lightning does, so that
    runs (MLflow, W&B) and writers exist, and their ids are known, before training starts.
    Ranks other than 0 get the do-nothing experiment (``rank_zero_experiment``)."""
    for logger in run.trainer.loggers:
        if hasattr(logger, "experiment"):
            _ = logger.experiment


def _finalize_loggers(run: RunState, status: str) -> None:
    for logger in run.trainer.loggers:
        if hasattr(logger, "finalize"):
            logger.finalize(status)


def interrupt(run: RunState, err: BaseException) -> None:
    """A failed or interrupted run: on_exception hooks, loggers "failed", no teardown hooks."""
    run.state.status = TrainerStatus.INTERRUPTED
    run.metrics.discard_unmerged()  # the failed step's values never reach the views
    calls = run.calls
    try:
        if calls is not None:
            calls.callbacks("on_exception", err)
            calls.datamodule_hook("on_exception", err)
        _finalize_loggers(run, "failed")
    finally:
        run.trainer.profiler.teardown(run.state.fn.value if run.state.fn else None)
        run.strategy.teardown()


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------
def setup_optimizers(run: RunState) -> None:
    """``configure_optimizers``, parsed and checked against the optimization mode."""
    model = run.lightning_module
    optimizers, configs = parse_optimizers(run.hooks.module("configure_optimizers"))
    check_for_mode(optimizers, configs, model.automatic_optimization)
    if not model.automatic_optimization:
        plan = run.plan
        for flag, value, default in (
            ("accumulate_grad_batches", plan.accumulate_grad_batches, 1),
            ("gradient_clip_val", plan.gradient_clip_val, None),
        ):
            if value != default:
                raise MisconfigurationException(
                    f"Trainer({flag}={value}) is not supported with manual optimization: remove it "
                    "and accumulate or clip in training_step (self.clip_gradients(opt, ...))."
                )

    _warn_foreign_optimizers(model, optimizers)

    def user_step(optimizer: torch.optim.Optimizer, closure: Any = None, **kwargs: Any) -> Any:
        assert run.optimization is not None, "optimizer steps happen inside fit"
        return run.optimization.user_step(optimizer, closure, **kwargs)

    lightning_optimizers = [LightningOptimizer(opt, user_step, module=model) for opt in optimizers]
    run.optim = OptimizerSetup(optimizers, lightning_optimizers, configs)


def _warn_foreign_optimizers(model: LightningModule, optimizers: list[Any]) -> None:
    """An optimizer that holds parameters but none of the module's trains nothing of it."""
    own = {id(p) for p in model.parameters()}
    for index, optimizer in enumerate(optimizers):
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if params and not any(id(p) in own for p in params):
            rank_zero_warn(
                f"Optimizer {index} ({type(optimizer).__name__}) from configure_optimizers holds"
                f" {len(params)} parameter(s), none of them this module's: stepping it will not"
                " change the model. Build it from self.parameters() (or the submodules to train)."
            )


def _fit(run: RunState, checkpoint: dict[str, Any] | None) -> None:
    calls, plan = run.hooks, run.plan
    setup_optimizers(run)
    profiled = isinstance(calls, _profiling.ProfiledHookCaller)
    run.optimization = (_profiling.ProfiledOptimization if profiled else Optimization)(run)
    # on_fit_start comes before the optimizer and scheduler states are loaded, as in Lightning:
    # callbacks rebuild parameter groups (BaseFinetuning) or drop schedulers they replace
    # (StochasticWeightAveraging) there, so that the states fit what the fit will step.
    ckpt_path = run.ckpt_path
    calls.both("on_fit_start")
    if run.ckpt_path != ckpt_path:  # a tuner's finder restored its checkpoint (Lightning's line)
        _console.info(f"Restored all states from the checkpoint at {run.ckpt_path}")
    if checkpoint is not None:
        _checkpointing.restore_training_state(run, checkpoint)
    # The loaders are requested later, as in Lightning: validation's when the sanity check or
    # the first validation runs, training's after the sanity check.
    run.schedule.enabled = _dataloaders.validation_enabled(run)
    # set_detect_anomaly, as Lightning: detect_anomaly() would also warn that it is on
    anomaly = (
        torch.autograd.set_detect_anomaly(True) if plan.detect_anomaly else contextlib.nullcontext()
    )
    with anomaly:
        run_fit(run)
    if not run.preempted:
        calls.both("on_fit_end")


# ---------------------------------------------------------------------------------------------
# validate / test / predict
# ---------------------------------------------------------------------------------------------
def _evaluate(run: RunState, fn: TrainerFn) -> list[dict[str, float]]:
    testing = fn == TrainerFn.TESTING
    hook = "test_dataloader" if testing else "val_dataloader"
    flag = "limit_test_batches" if testing else "limit_val_batches"
    if getattr(run.plan, flag) == 0:  # as Lightning: no loader requested, no hook run
        return []
    explicit = run.args.test if testing else run.args.val
    loaders, limits = _dataloaders.eval_loaders(
        run, _dataloaders.required_loaders(run, fn, explicit, hook), flag
    )
    if testing:
        run.loaders.test_batches = limits
    else:
        run.loaders.val, run.loaders.validate_batches = loaders, limits
    if not sum(limits):  # no batches to run: no hooks either, as in Lightning
        return []
    stage = RunningStage.TESTING if testing else RunningStage.VALIDATING
    results = evaluation.run_evaluation(run, stage, loaders, limits)
    if run.args.verbose and run.strategy.is_global_zero:
        _console.print_results(results, fn.value)
    return results


def _predict(run: RunState) -> Any:
    if run.plan.limit_predict_batches == 0:  # as Lightning: nothing requested or run
        return None
    loaders = _dataloaders.required_loaders(
        run, TrainerFn.PREDICTING, run.args.predict, "predict_dataloader"
    )
    loaders, limits = _dataloaders.eval_loaders(run, loaders, "limit_predict_batches")
    run.loaders.predict_batches = limits
    if not sum(limits):  # no batches to run: no hooks either, as in Lightning
        return None
    keep = run.args.return_predictions
    outputs = run_prediction(run, loaders, limits, keep)
    if not keep:
        return None
    return outputs[0] if len(outputs) == 1 else outputs
