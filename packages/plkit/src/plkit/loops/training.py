"""One training epoch, batch by batch, top to bottom.

Per batch (``spec/hook-order.md``)::

    batch = next(loader)                      skipped batches on resume are not loaded where possible
    BATCH TRANSFER                            on_before_batch_transfer, transfer_batch_to_device, on_after_...
    on_train_batch_start                      the module returning -1 ends the epoch
    automatic optimization:
        inside an accumulation window:        training_step, [zero grad on the window's first batch], backward
        on the window's last batch:           optimizer_step(closure) -> closure: training_step, zero grad,
                                              backward; then on_before_optimizer_step, clipping, the step
    manual optimization:                      training_step (the user calls manual_backward / opt.step())
    step-interval schedulers
    on_train_batch_end
    step metrics to the loggers               every log_every_n_steps steps (the only host sync)
    validation                                when RunState.validation_due says so (inside the
                                              batch loop, after the epoch's last batch too)

The optimization itself (closure, backward, the optimizer step) is :mod:`plkit.loops.optimization`
with the strategy's step functions. Hooks nobody overrides are not called; nothing here waits for
the device unless a value is written this step.
"""

from __future__ import annotations

from typing import Any

from plkit._runstate import RunState
from plkit.loops import evaluation
from plkit.loops.optimization import batch_output, manual_output, step_schedulers

__all__ = ["run_training_epoch"]


def run_training_epoch(run: RunState, iterator: Any) -> None:
    """Run the batches ``iterator`` yields as ``(batch_idx, batch, is_last)``: one epoch, from
    its first batch or (resuming mid-epoch) from where the checkpoint was taken."""
    calls, progress, plan = run.hooks, run.progress, run.plan
    trainer, model = run.trainer, run.lightning_module
    automatic = model.automatic_optimization
    step = run.optimization
    assert step is not None, "fit builds the optimization before its first epoch"
    transfer = run.transfer
    has_batch_start = calls.active("on_train_batch_start")
    has_batch_end = calls.active("on_train_batch_end")
    metrics = run.metrics
    log_every = plan.log_every_n_steps
    schedulers = bool(run.optim.lr_scheduler_configs)
    preemption = run.preemption
    ctx = model.log_context
    dirty = metrics.train.step_dirty  # non-empty when this step logged something
    # read per epoch: trainer.accumulate_grad_batches may change in on_train_epoch_start
    accumulate, max_steps = plan.accumulate_grad_batches, plan.max_steps
    step.accumulate = accumulate
    may_validate = run.validates_this_epoch()  # else validation_due is False for every batch
    batch_end_hooks = calls.dispatcher.bound("on_train_batch_end")
    module_batch_end = "on_train_batch_end" in calls.overridden
    progress.failed_batch = 0
    batch_idx, batch = -1, None
    try:  # (free in the loop: Python's exceptions cost only when raised)
        for batch_idx, batch, is_last in iterator:
            progress.is_last_batch = is_last
            batch = transfer(batch, 0)
            ctx.batch = batch
            if has_batch_start:
                calls.callbacks("on_train_batch_start", batch, batch_idx)
                if calls.module_if("on_train_batch_start", batch, batch_idx) == -1:
                    break
            if automatic:
                if accumulate == 1:
                    window_start = window_end = True
                else:
                    window_start = batch_idx % accumulate == 0
                    window_end = (batch_idx + 1) % accumulate == 0 or is_last
                if step.run_batch(batch, batch_idx, window_start, window_end):
                    progress.global_step += 1
                output = batch_output(step.output, step.loss) if has_batch_end else None
                if window_end and schedulers:  # manual optimization steps its own schedulers
                    step_schedulers(run, "step", batch_idx)
                    if is_last:
                        step_schedulers(run, "epoch", batch_idx)
            else:
                window_end = True
                output = step.run_manual(batch, batch_idx)
                output = manual_output(output) if has_batch_end else None
            progress.batches_done = batch_idx + 1
            progress.total_batch_idx += 1
            counts = window_end or not automatic
            if counts:  # Lightning's "batches that stepped": the loggers' step axis
                progress.batches_that_stepped += 1
            if dirty and metrics.train.sync_pending:
                metrics.flush()  # values reduced across processes: every rank at the same point
            if has_batch_end:  # callbacks first, then the module (bound methods found once)
                ctx.fx = "on_train_batch_end"
                for hook in batch_end_hooks:
                    hook(trainer, model, output, batch, batch_idx)
                ctx.fx = None
                if module_batch_end:
                    calls.module("on_train_batch_end", output, batch, batch_idx)
            if (
                counts and log_every and progress.batches_that_stepped % log_every == 0
            ) or run.should_stop:
                metrics.write_train_step()
            if may_validate and run.validation_due(batch_idx, is_last):
                evaluation.run_validation_in_fit(run)
            if automatic and window_end and schedulers:  # plateau schedulers read fresh metrics
                step_schedulers(run, "step", batch_idx, plateau=True)
            step.output = step.loss = None
            if counts and preemption.received is not None and preemption.should_stop(run):
                run.preempted = True
                break
            if max_steps != -1 and progress.global_step >= max_steps:
                break  # (max_epochs is the fit loop's business)
            if run.stopping():
                break
    except BaseException:
        progress.failed_batch = _failed_batch(progress, step, ctx, batch_idx, batch, automatic)
        raise


def _failed_batch(
    progress: Any, step: Any, ctx: Any, batch_idx: int, batch: Any, automatic: bool
) -> int:
    """How far the batch an exception stopped had got (``FitProgress.failed_batch``): 0 when
    it was processed (its end hooks or a validation failed) or none was fetched, else 1 (its
    transfer failed), 2 (``on_train_batch_start`` failed) or 3 (its optimization started)."""
    if batch_idx < 0 or progress.batches_done != batch_idx:
        return 0
    if ctx.batch is not batch:
        return 1
    started = step.batch is batch if automatic else ctx.fx == "training_step"
    return 3 if started else 2
