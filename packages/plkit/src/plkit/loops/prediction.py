"""The prediction loop: VALIDATION's shape with ``predict_step`` and ``on_predict_*`` hooks.

Predictions are collected per dataloader (``return_predictions``, or for a
``BasePredictionWriter`` that writes at the epoch's end), on the CPU; nothing is logged. With a
prediction writer among the callbacks, the sample indices of each batch are recorded
(``trainer.predict_loop.current_batch_indices`` / ``epoch_batch_indices``); without one the
batches pay nothing for it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from plcore.utilities.apply import move_data_to_device
from plcore.utilities.rank_zero import rank_zero_warn
from plkit._preemption import Preempted
from plkit._profiling import profiled_batches, timed
from plkit._runstate import RunState
from plkit._state import RunningStage
from plkit.loops._data import limited
from plkit.loops._steps import ModuleMode, check_dataloader_idx, step_caller

__all__ = ["run_prediction"]


class _IndexRecorder:
    """A batch sampler that remembers the index lists it yields, in order (for the writers)."""

    def __init__(self, batch_sampler: Any) -> None:
        self.batch_sampler = batch_sampler
        self.seen: list[list[int]] = []

    def __iter__(self) -> Iterator[list[int]]:
        self.seen = []
        return self._record(iter(self.batch_sampler))

    def _record(self, it: Iterator[list[int]]) -> Iterator[list[int]]:
        for indices in it:
            self.seen.append(indices)
            yield indices

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __getattr__(self, name: str) -> Any:  # batch_size, drop_last, sampler...
        return getattr(self.__dict__["batch_sampler"], name)


def _recording(loader: Any) -> tuple[Any, _IndexRecorder | None]:
    """``loader``, or a shallow copy of it whose batch sampler records indices (a DataLoader
    that batches automatically); the user's loader is left as it is."""
    if not isinstance(loader, DataLoader) or loader.batch_sampler is None:
        return loader, None
    recorder = _IndexRecorder(loader.batch_sampler)
    clone = copy.copy(loader)
    # DataLoader refuses a new batch_sampler once built; this copy is ours alone
    object.__setattr__(clone, "batch_sampler", recorder)
    object.__setattr__(clone, "_iterator", None)
    return clone, recorder


def _writer_intervals(callbacks: list[Any]) -> tuple[bool, bool]:
    """Whether any prediction writer writes per batch, and whether any writes at the end."""
    from plkit.callbacks.prediction_writer import BasePredictionWriter

    writers = [cb for cb in callbacks if isinstance(cb, BasePredictionWriter)]
    return any(w.interval.on_batch for w in writers), any(w.interval.on_epoch for w in writers)


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
    loop = run.predict_loop
    loop.return_predictions = keep
    on_batch, on_epoch = _writer_intervals(run.trainer.callbacks)
    track = on_batch or on_epoch  # a writer needs the batches' sample indices
    store = keep or on_epoch
    loop.epoch_batch_indices = [[] for _ in loaders]
    outputs: list[list[Any]] = [[] for _ in loaders]
    loop._predictions = outputs
    mode = ModuleMode()
    mode.capture(model)
    calls.module("on_predict_model_eval")
    grad = torch.inference_mode() if run.plan.inference_mode else torch.no_grad()
    preemption = run.preemption
    preemption.begin_eval_pass()
    done = 0
    cpu = torch.device("cpu")
    with grad:
        calls.both("on_predict_start")
        if run.reloaded_eval is not None:  # a BatchSizeFinder changed the batch size
            (loaders, limits), run.reloaded_eval = run.reloaded_eval, None
        calls.both("on_predict_epoch_start")
        for dl_idx, (loader, limit) in enumerate(zip(loaders, limits)):
            kept = outputs[dl_idx]
            recorder = None
            if track:
                loader, recorder = _recording(loader)
                if recorder is None:
                    rank_zero_warn(
                        "Couldn't infer the batch indices fetched from your dataloader: "
                        f"`{type(loader).__name__}`"
                    )
            extra = (dl_idx,) if several else ()  # dataloader_idx only with several loaders
            batches = (
                limited(loader, limit)
                if profiler is None
                else profiled_batches(loader, limit, profiler, "[_PredictionLoop].predict_next")
            )
            for batch_idx, batch in enumerate(batches):
                batch = transfer(batch, dl_idx)
                if recorder is not None:
                    indices = recorder.seen[batch_idx]
                    if on_epoch:
                        loop.epoch_batch_indices[dl_idx].append(indices)
                    if on_batch:
                        loop.current_batch_indices = indices
                calls.both("on_predict_batch_start", batch, batch_idx, *extra)
                ctx.fx = "predict_step"
                with strategy.forward_context():
                    out = step(batch, batch_idx, *extra)
                ctx.fx = None
                calls.both("on_predict_batch_end", out, batch, batch_idx, *extra)
                if store:
                    kept.append(move_data_to_device(out, cpu))
                done += 1
                if preemption.received is not None and preemption.should_stop_eval(run, done):
                    raise Preempted  # the entry point leaves, as preempted
        calls.both("on_predict_epoch_end")
        if not keep:
            loop._predictions = []
        loop.epoch_batch_indices = []
        calls.both("on_predict_end")
    mode.restore(model)  # each submodule back to the mode it had
    return outputs
