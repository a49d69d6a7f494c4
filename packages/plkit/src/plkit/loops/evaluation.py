"""Validation and test loops (and the sanity check, a short validation before training).

Shape (``spec/hook-order.md``)::

    on_{stage}_model_eval                          eval mode, no gradients
    on_{stage}_start; on_{stage}_epoch_start
    per loader, per batch: BATCH TRANSFER; on_{stage}_batch_start; {stage}_step; on_{stage}_batch_end
    on_{stage}_epoch_end                           then the epoch metrics reach callback_metrics
    on_{stage}_end                                 and the loggers
    on_{stage}_model_train                         (not after predict)
"""

from __future__ import annotations

from typing import Any

import torch

from plcore.utilities.seed import collect_rng_states, set_rng_states
from plkit import _dataloaders
from plkit._preemption import Preempted
from plkit._profiling import profiled_batches, timed
from plkit._runstate import RunState
from plkit._state import RunningStage, TrainerFn
from plkit.loops._data import limited, set_sampler_epoch
from plkit.loops._steps import ModuleMode, check_dataloader_idx, step_caller

__all__ = ["run_evaluation", "run_sanity_check", "run_validation_in_fit"]

_HOOK_STAGE = {
    RunningStage.VALIDATING: "validation",
    RunningStage.SANITY_CHECKING: "validation",
    RunningStage.TESTING: "test",
}


def _grad_context(run: RunState) -> Any:
    """``inference_mode`` for validate / test (the flag); fit's validation always uses
    ``no_grad``, as in Lightning, so that its tensors stay usable by autograd afterwards."""
    if run.plan.inference_mode and run.state.fn != TrainerFn.FITTING:
        return torch.inference_mode()
    return torch.no_grad()


def _run_batches(run: RunState, name: str, loaders: list[Any], limits: list[int | float]) -> None:
    calls, model = run.hooks, run.lightning_module
    ctx, transfer = model.log_context, run.transfer
    several = len(loaders) > 1
    ctx.num_dataloaders = len(loaders)
    has_start = (
        calls.dispatcher.has(f"on_{name}_batch_start")
        or f"on_{name}_batch_start" in calls.overridden
    )
    has_end = (
        calls.dispatcher.has(f"on_{name}_batch_end") or f"on_{name}_batch_end" in calls.overridden
    )
    step_name = f"{name}_step"
    step_fn = step_caller(getattr(model, step_name))  # decided once, not per batch
    profiler = calls.profiler
    if profiler is not None:
        step_fn = timed(profiler, f"[Strategy]{type(run.strategy).__name__}.{step_name}", step_fn)
    fetch = f"[_EvaluationLoop].{'test' if name == 'test' else 'val'}_next"
    strategy, metrics = run.strategy, run.metrics
    forward_context = strategy.precision.has_forward_context
    dirty = metrics.eval.step_dirty  # non-empty when a batch logged on_step values
    progress = run.eval_progress
    preemption = run.preemption
    for dl_idx, (loader, limit) in enumerate(zip(loaders, limits)):
        ctx.dataloader_idx = dl_idx
        progress.dataloader_idx = dl_idx
        if limit == 0:
            continue
        extra = (dl_idx,) if several else ()
        batches = (
            limited(loader, limit)
            if profiler is None
            else profiled_batches(loader, limit, profiler, fetch)
        )
        for batch_idx, batch in enumerate(batches):
            batch = transfer(batch, dl_idx)
            ctx.batch = batch
            if has_start:
                calls.both(f"on_{name}_batch_start", batch, batch_idx, *extra)
            ctx.fx = step_name
            if forward_context:
                with strategy.forward_context():
                    output = step_fn(batch, batch_idx, *extra)
            else:
                output = step_fn(batch, batch_idx, *extra)
            ctx.fx = None
            if has_end:
                calls.both(f"on_{name}_batch_end", output, batch, batch_idx, *extra)
            if dirty:
                metrics.eval_batch_end(dl_idx, batch_idx)
            progress.batches_done += 1
            if preemption.received is not None and preemption.should_stop_eval(
                run, progress.batches_done
            ):
                raise Preempted  # the fit loop or the entry point leaves, as preempted
    ctx.dataloader_idx = None
    ctx.num_dataloaders = 1


def run_evaluation(
    run: RunState, stage: RunningStage, loaders: list[Any], limits: list[int | float]
) -> list[dict[str, float]]:
    """Run one validation or test pass; returns one metrics dict per dataloader."""
    calls, model = run.hooks, run.lightning_module
    name = _HOOK_STAGE[stage]
    previous_stage = run.state.stage
    run.state.stage = stage
    check_dataloader_idx(
        model,
        (f"{name}_step", f"on_{name}_batch_start", f"on_{name}_batch_end"),
        len(loaders) > 1,
        "val" if name == "validation" else name,
        calls.overridden | {f"{name}_step"},
    )
    run.eval_progress.reset()
    run.preemption.begin_eval_pass()
    mode = ModuleMode()
    mode.capture(model)
    calls.module(f"on_{name}_model_eval")
    metrics = run.metrics
    previous_store = metrics.begin_eval()
    # During fit, validation must not move the training RNG streams: results then do not depend
    # on how often validation runs, and a resume from any checkpoint replays training exactly.
    isolate = run.state.fn == TrainerFn.FITTING
    run.rng_at_eval_start = collect_rng_states() if isolate else None
    if isolate:  # fit's validation loaders follow the training epoch (shuffles included)
        for loader in loaders:
            set_sampler_epoch(loader, run.progress.epoch)
    try:
        with _grad_context(run):
            calls.both(f"on_{name}_start")
            if run.reloaded_eval is not None:  # a BatchSizeFinder changed the batch size
                (loaders, limits), run.reloaded_eval = run.reloaded_eval, None
            calls.both(f"on_{name}_epoch_start")
            _run_batches(run, name, loaders, limits)
            calls.both(f"on_{name}_epoch_end")
        results = metrics.eval_end(stage, len(loaders))
        calls.both(f"on_{name}_end")
    finally:
        run.state.stage = previous_stage
        model.log_context.store = previous_store
        if run.rng_at_eval_start is not None:
            set_rng_states(run.rng_at_eval_start)
            run.rng_at_eval_start = None
    if f"on_{name}_model_train" in calls.overridden:
        calls.module(f"on_{name}_model_train")
    else:  # each submodule back to the mode it had (Lightning's default)
        mode.restore(model)
    return results


def run_sanity_check(run: RunState) -> None:
    """A few validation batches before training, to fail fast; its metrics are discarded."""
    if run.plan.num_sanity_val_steps == 0 or not run.schedule.enabled:
        return
    calls = run.hooks
    # As in Lightning the whole check leaves the RNG streams alone, the loader hooks included
    # (restored only when it ends normally)
    rng_states = collect_rng_states()
    run.state.stage = RunningStage.SANITY_CHECKING
    calls.callbacks("on_sanity_check_start")
    _dataloaders.setup_fit_val_data(run)  # the loaders are requested here, as in Lightning
    limits = _dataloaders.sanity_batches(run)
    if sum(limits):
        run_evaluation(run, RunningStage.SANITY_CHECKING, run.loaders.val, limits)
    calls.callbacks("on_sanity_check_end")
    run.metrics.discard_sanity()
    run.state.stage = RunningStage.TRAINING
    set_rng_states(rng_states)


def run_validation_in_fit(run: RunState) -> None:
    """Validation during fit: zero the gradients' memory, validate, back to training mode."""
    run.hooks.module("on_validation_model_zero_grad")
    run.state.stage = RunningStage.VALIDATING
    _dataloaders.setup_fit_val_data(run)  # first needed now, or due for a reload
    limits = run.loaders.fit_val_batches
    if sum(limits):  # no batches: no hooks either
        run_evaluation(run, RunningStage.VALIDATING, run.loaders.val, limits)
        run.schedule.validated()
        run.eval_progress.fit_val_batches = run.eval_progress.batches_done
        run.progress.epoch_val_batches += run.eval_progress.batches_done
    run.state.stage = RunningStage.TRAINING
