"""The prediction loop: VALIDATION's shape with ``predict_step`` and ``on_predict_*`` hooks.

Predictions are collected per dataloader (``return_predictions``); nothing is logged.
"""

from __future__ import annotations

from typing import Any

import torch

from plkit._preemption import Preempted
from plkit._profiling import profiled_batches, timed
from plkit._runstate import RunState
from plkit._state import RunningStage
from plkit.loops._steps import ModuleMode, check_dataloader_idx, step_caller

__all__ = ["run_prediction"]


def run_prediction(
    run: RunState, loaders: list[Any], limits: list[int | float], keep: bool
) -> list[list[Any]]:
    """Run ``predict_step`` over every loader; returns the predictions per loader."""
    calls, model = run.hooks, run.lightning_module
    ctx, transfer, strategy = model.log_context, run.transfer, run.strategy
    run.state.stage = RunningStage.PREDICTING
    several = len(loaders) > 1
    check_dataloader_idx(
        model,
        ("predict_step", "on_predict_batch_start", "on_predict_batch_end"),
        several,
        "predict",
        calls.overridden | {"predict_step"},
    )
    step = step_caller(model.predict_step)  # decided once, not per batch
    profiler = calls.profiler
    if profiler is not None:
        step = timed(profiler, f"[Strategy]{type(strategy).__name__}.predict_step", step)
    mode = ModuleMode()
    mode.capture(model)
    calls.module("on_predict_model_eval")
    grad = torch.inference_mode() if run.plan.inference_mode else torch.no_grad()
    outputs: list[list[Any]] = []
    preemption = run.preemption
    preemption.begin_eval_pass()
    done = 0
    with grad:
        calls.both("on_predict_start")
        if run.reloaded_eval is not None:  # a BatchSizeFinder changed the batch size
            (loaders, limits), run.reloaded_eval = run.reloaded_eval, None
        calls.both("on_predict_epoch_start")
        for dl_idx, (loader, limit) in enumerate(zip(loaders, limits)):
            kept: list[Any] = []
            extra = (dl_idx,) if several else ()  # dataloader_idx only with several loaders
            batches = (
                loader
                if profiler is None
                else profiled_batches(loader, limit, profiler, "[_PredictionLoop].predict_next")
            )
            for batch_idx, batch in enumerate(batches):
                if batch_idx >= limit:
                    break
                batch = transfer(batch, dl_idx)
                calls.both("on_predict_batch_start", batch, batch_idx, *extra)
                ctx.fx = "predict_step"
                with strategy.forward_context():
                    out = step(batch, batch_idx, *extra)
                ctx.fx = None
                calls.both("on_predict_batch_end", out, batch, batch_idx, *extra)
                if keep:
                    kept.append(out)
                done += 1
                if preemption.received is not None and preemption.should_stop_eval(run, done):
                    raise Preempted  # the entry point leaves, as preempted
            outputs.append(kept)
        calls.both("on_predict_epoch_end")
        calls.both("on_predict_end")
    mode.restore(model)  # each submodule back to the mode it had
    return outputs
