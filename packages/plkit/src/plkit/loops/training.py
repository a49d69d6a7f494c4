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
    validation                                when val_check_interval says so

Hooks nobody overrides are not called; nothing here waits for the device unless a value is
written this step.
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import Any

import torch
import torch.optim.optimizer as _torch_optimizer

from plcore.utilities.rank_zero import rank_zero_warn
from plkit.loops import evaluation

__all__ = ["run_training_epoch"]


def _loss_of(output: Any) -> torch.Tensor | None:
    """training_step may return a loss tensor, a dict with "loss", or None (skip the batch)."""
    if output is None:
        rank_zero_warn(
            "`training_step` returned `None`. If this was on purpose, ignore this warning..."
        )
        return None
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, dict):
        if "loss" not in output:
            raise ValueError(
                "training_step returned a dict without a 'loss' key; return {'loss': loss, ...}, "
                "the loss tensor itself, or None to skip the batch."
            )
        return output["loss"]
    raise TypeError(
        f"training_step returned {type(output).__name__}; return the loss tensor, a dict with "
        "'loss', or None to skip the batch."
    )


def _batch_output(output: Any, loss: torch.Tensor | None) -> Any:
    """What on_train_batch_end receives as ``outputs``."""
    if loss is None:
        return output if isinstance(output, dict) else None
    extra = {k: v for k, v in output.items() if k != "loss"} if isinstance(output, dict) else {}
    return {"loss": loss.detach(), **extra}


def _manual_output(output: Any) -> dict[str, Any]:
    """on_train_batch_end's ``outputs`` under manual optimization (detached, as in Lightning)."""
    if isinstance(output, torch.Tensor):
        return {"loss": output.detach()}
    if isinstance(output, dict):
        return {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in output.items()}
    return {}


class _Step:
    """The optimization of one batch (automatic mode); built once per epoch, reused per batch.

    Which hooks anyone overrides is decided here, once, so the per-batch path only tests
    booleans and calls nothing that would do nothing.
    """

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        calls = self.calls = trainer._calls
        self.model = trainer.lightning_module
        self.strategy = trainer.strategy
        self.forward = trainer._forward_module
        self.accumulate = trainer._plan.accumulate_grad_batches
        overridden = calls.overridden
        self.custom_backward = "backward" in overridden
        self.custom_zero_grad = "optimizer_zero_grad" in overridden
        self.custom_opt_step = "optimizer_step" in overridden
        self.zero_hooks = calls.active("on_before_zero_grad")
        self.backward_hooks = calls.active("on_before_backward") or calls.active(
            "on_after_backward"
        )
        self.step_hooks = calls.active("on_before_optimizer_step")
        plan = trainer._plan
        self.clip_val, self.clip_algo = plan.gradient_clip_val, plan.gradient_clip_algorithm
        self.clip = self.clip_val is not None or "configure_gradient_clipping" in overridden
        self.forward_context = self.strategy.precision.has_forward_context
        # With plain 32/64-bit precision the strategy's backward and step add nothing: call
        # torch directly and save several Python frames on every batch.
        self.direct = _plain_strategy(self.strategy)
        # The most common configuration needs none of the above: one function does it all.
        self.fused = (
            self.direct
            and self.accumulate == 1
            and not self.forward_context
            and not (self.custom_backward or self.custom_zero_grad or self.custom_opt_step)
            and not (self.zero_hooks or self.backward_hooks or self.step_hooks or self.clip)
        )
        opts = trainer._lightning_optimizers
        self.closure_once = bool(opts) and type(opts[0].optimizer) in _CLOSURE_ONCE
        self.output: Any = None
        self.loss: torch.Tensor | None = None

    def run_step(self, batch: Any, batch_idx: int) -> Any:
        """The user's training_step, under the precision context and through DDP when wrapped."""
        ctx = self.model._log_ctx
        ctx.fx = "training_step"
        if self.forward_context:
            with self.strategy.forward_context():
                output = self.forward(batch, batch_idx)
        else:
            output = self.forward(batch, batch_idx)
        ctx.fx = None
        return output

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor | None:
        output = self.output = self.run_step(batch, batch_idx)
        loss = output if type(output) is torch.Tensor else _loss_of(output)
        if loss is not None and self.accumulate > 1:
            loss = loss / self.accumulate
        self.loss = loss
        return loss

    def zero_grad(self, optimizer: Any, batch_idx: int) -> None:
        """Zero the gradients; the hooks get the torch optimizer, not its LightningOptimizer."""
        optimizer = optimizer.optimizer
        if self.zero_hooks:
            self.calls.both("on_before_zero_grad", optimizer)
        if self.custom_zero_grad:
            self.calls.module(
                "optimizer_zero_grad", self.trainer.current_epoch, batch_idx, optimizer
            )
        else:
            optimizer.zero_grad()

    def backward(self, loss: torch.Tensor) -> None:
        calls = self.calls
        if self.backward_hooks:
            calls.both("on_before_backward", loss)
        if self.custom_backward:
            self.strategy.backward(loss, partial(calls.module, "backward"))
        elif self.direct:
            loss.backward()
        else:
            self.strategy.backward(loss, _plain_backward)
        if self.backward_hooks:
            calls.both("on_after_backward")

    def closure(self, batch: Any, batch_idx: int, optimizer: Any, zero_grad: bool) -> Any:
        loss = self.training_step(batch, batch_idx)
        if zero_grad:
            self.zero_grad(optimizer, batch_idx)
        if loss is not None:
            self.backward(loss)
        return loss

    def fused_closure(self, batch: Any, batch_idx: int, optimizer: Any) -> Any:
        """training_step, zero_grad and backward in one frame (no hooks or options in play)."""
        ctx = self.model._log_ctx
        ctx.fx = "training_step"
        output = self.output = self.forward(batch, batch_idx)
        ctx.fx = None
        loss = self.loss = output if type(output) is torch.Tensor else _loss_of(output)
        optimizer.zero_grad()
        if loss is not None:
            loss.backward()
        return loss

    def closure_then_after(
        self, batch: Any, batch_idx: int, lopt: Any, zero_grad: bool, optimizer: Any
    ) -> Any:
        """What precision's optimizer step wraps around the closure, inlined (direct mode)."""
        loss = self.closure(batch, batch_idx, lopt, zero_grad)
        if self.step_hooks or self.clip:
            self.after_closure(optimizer)
        return loss

    def after_closure(self, optimizer: Any) -> None:
        """Between the gradients and the step: hooks, then clipping (gradients already unscaled)."""
        if self.step_hooks:
            self.calls.both("on_before_optimizer_step", optimizer)
        if self.clip:
            self.calls.module(
                "configure_gradient_clipping", optimizer, self.clip_val, self.clip_algo
            )


def _plain_backward(loss: torch.Tensor, *args: Any) -> None:
    loss.backward(*args)


def _run_automatic(
    step: _Step, batch: Any, batch_idx: int, window_start: bool, window_end: bool
) -> bool:
    """Optimize one batch; returns whether the optimizer stepped."""
    trainer = step.trainer
    lopt = trainer._lightning_optimizers[0]  # several need manual optimization (checked at setup)
    if step.fused:
        optimizer = lopt.optimizer
        if step.closure_once and not optimizer._optimizer_step_pre_hooks and not _GLOBAL_PRE_HOOKS:
            # These optimizers run the closure once, first thing in step(): running it here
            # gives the same result without torch's closure plumbing.
            step.fused_closure(batch, batch_idx, optimizer)
            optimizer.step()
        else:
            optimizer.step(closure=partial(step.fused_closure, batch, batch_idx, optimizer))
        return True
    if not window_end:
        with step.strategy.no_backward_sync(step.forward, True):
            step.closure(batch, batch_idx, lopt, window_start)
        return False
    optimizer = lopt.optimizer
    if step.custom_opt_step:
        closure = partial(step.closure, batch, batch_idx, lopt, window_start)
        step.calls.module("optimizer_step", trainer.current_epoch, batch_idx, lopt, closure)
    elif step.direct:  # what the layers below LightningOptimizer.step amount to
        optimizer.step(
            closure=partial(
                step.closure_then_after, batch, batch_idx, lopt, window_start, optimizer
            )
        )
    else:  # what LightningOptimizer.step would do, minus two layers of calls
        closure = partial(step.closure, batch, batch_idx, lopt, window_start)
        step.strategy.optimizer_step(optimizer, closure, partial(step.after_closure, optimizer))
    return True


#: torch optimizers whose step(closure) evaluates the closure exactly once, before updating.
_CLOSURE_ONCE = frozenset(
    getattr(torch.optim, name)
    for name in (
        "SGD",
        "Adam",
        "AdamW",
        "RMSprop",
        "Adagrad",
        "Adadelta",
        "Adamax",
        "NAdam",
        "RAdam",
        "ASGD",
        "Rprop",
    )
    if hasattr(torch.optim, name)
)
_GLOBAL_PRE_HOOKS = getattr(_torch_optimizer, "_global_optimizer_pre_hooks", {"unknown": None})


def _plain_strategy(strategy: Any) -> bool:
    from placcel import Precision, Strategy

    precision = type(strategy.precision)
    return (
        precision.backward is Precision.backward
        and precision.optimizer_step is Precision.optimizer_step
        and type(strategy).backward is Strategy.backward
        and type(strategy).optimizer_step is Strategy.optimizer_step
    )


def _window(trainer: Any, batch_idx: int, is_last: bool) -> tuple[bool, bool]:
    k = trainer._plan.accumulate_grad_batches
    if k == 1:
        return True, True
    return batch_idx % k == 0, (batch_idx + 1) % k == 0 or is_last


def _should_validate(trainer: Any, batch_idx: int, is_last: bool) -> bool:
    """Whether validation runs after this batch (the caller checked it is enabled and due)."""
    val_check_batch = trainer.val_check_batch
    if is_last and val_check_batch == math.inf:
        return True
    if trainer.should_stop and trainer._can_stop_early():
        return True
    if val_check_batch == math.inf:
        return is_last
    every = trainer._plan.check_val_every_n_epoch
    # total_batch_idx already counts this batch
    current = trainer._progress.total_batch_idx - 1 if every is None else batch_idx
    return (current + 1) % val_check_batch == 0


def _step_schedulers(trainer: Any, interval: str, batch_idx: int, plateau: bool = False) -> None:
    """Lightning's rule: "step" schedulers count batches of the epoch, "epoch" ones count epochs."""
    for config in trainer.lr_scheduler_configs:
        if config.interval != interval or config.reduce_on_plateau != plateau:
            continue
        count = batch_idx + 1 if interval == "step" else trainer.current_epoch + 1
        if count % config.frequency:
            continue
        if plateau:
            trainer._step_plateau_scheduler(config)
        else:
            trainer._calls.module("lr_scheduler_step", config.scheduler, None)


def run_training_epoch(trainer: Any, loader: Any, start_batch: int) -> None:
    """Run the batches of one epoch from ``start_batch`` (non-zero when resuming mid-epoch)."""
    calls, progress, plan = trainer._calls, trainer._progress, trainer._plan
    model = trainer.lightning_module
    automatic = model.automatic_optimization
    step = trainer._step = _Step(trainer)
    transfer = trainer._batch_transfer
    has_batch_start = calls.active("on_train_batch_start")
    has_batch_end = calls.active("on_train_batch_end")
    deadline = trainer._deadline
    metrics = trainer._metrics
    log_every = plan.log_every_n_steps
    iterator = trainer._train_iterator(loader, start_batch)
    schedulers = bool(trainer.lr_scheduler_configs)
    preemption = trainer._preemption
    ctx = model._log_ctx
    dirty = metrics.train._step_dirty  # non-empty when this step logged something
    accumulate, max_steps = plan.accumulate_grad_batches, plan.max_steps
    may_validate = trainer._validation_enabled and trainer._val_due_this_epoch()
    batch_end_hooks = calls.dispatcher.bound("on_train_batch_end")
    module_batch_end = "on_train_batch_end" in calls.overridden
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
                window_start, window_end = _window(trainer, batch_idx, is_last)
            if _run_automatic(step, batch, batch_idx, window_start, window_end):
                progress.global_step += 1
            output = _batch_output(step.output, step.loss) if has_batch_end else None
            if window_end and schedulers:  # manual optimization steps its own schedulers
                _step_schedulers(trainer, "step", batch_idx)
                if is_last:
                    _step_schedulers(trainer, "epoch", batch_idx)
        else:
            window_end = True
            output = step.run_step(batch, batch_idx)
            output = _manual_output(output) if has_batch_end else None
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
        ) or trainer.should_stop:
            metrics.write_train_step()
        if may_validate and _should_validate(trainer, batch_idx, is_last):
            evaluation.run_validation_in_fit(trainer)
        if automatic and window_end and schedulers:  # plateau schedulers read fresh metrics
            _step_schedulers(trainer, "step", batch_idx, plateau=True)
        step.output = step.loss = None
        if counts and preemption.received is not None and preemption.should_stop(trainer):
            trainer._preempted = True
            break
        if deadline is not None and time.monotonic() >= deadline:
            trainer.should_stop = True
        if max_steps != -1 and progress.global_step >= max_steps:
            break  # (max_epochs is the fit loop's business)
        if trainer.should_stop and trainer._can_stop_early():
            break
