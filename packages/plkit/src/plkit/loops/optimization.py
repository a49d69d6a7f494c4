"""The optimization of a training batch, and every optimizer step a user asks for: one place.

Automatic optimization, per batch (``spec/hook-order.md``)::

    inside an accumulation window:  closure under no_backward_sync (no optimizer step)
    on the window's last batch:     strategy's optimizer_step(optimizer, closure, after_closure)
                                    (or the module's optimizer_step override, which calls
                                    optimizer.step(closure) and so comes back here)
    closure:                        training_step; zero_grad on the window's first batch;
                                    backward (on_before_backward, backward, on_after_backward)
    after_closure:                  on_before_optimizer_step, configure_gradient_clipping

The strategy owns backward and the step (:meth:`placcel.Strategy.step_functions`): with plain
precision they are torch's own calls, chosen by the strategy, not guessed here. Which hooks
anyone overrides is decided once, when the :class:`Optimization` is built (once per fit), so
the per-batch path tests booleans and calls nothing that would do nothing.

Manual optimization: ``training_step`` only; the user's ``opt.step()`` and
``self.manual_backward(loss)`` arrive at :meth:`Optimization.user_step` and
:meth:`Optimization.manual_backward`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import torch

from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn

if TYPE_CHECKING:
    from plkit._optimizers import LRSchedulerConfig
    from plkit._runstate import RunState

__all__ = ["Optimization", "batch_output", "manual_output", "step_plateau_scheduler"]


def loss_of(output: Any) -> torch.Tensor | None:
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
        loss: torch.Tensor = output["loss"]
        return loss
    raise TypeError(
        f"training_step returned {type(output).__name__}; return the loss tensor, a dict with "
        "'loss', or None to skip the batch."
    )


def batch_output(output: Any, loss: torch.Tensor | None) -> Any:
    """What on_train_batch_end receives as ``outputs`` (automatic optimization)."""
    if loss is None:
        return output if isinstance(output, dict) else None
    extra = {k: v for k, v in output.items() if k != "loss"} if isinstance(output, dict) else {}
    return {"loss": loss.detach(), **extra}


def manual_output(output: Any) -> dict[str, Any]:
    """on_train_batch_end's ``outputs`` under manual optimization (detached, as in Lightning)."""
    if isinstance(output, torch.Tensor):
        return {"loss": output.detach()}
    if isinstance(output, dict):
        return {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in output.items()}
    return {}


def _no_closure() -> None:
    return None


def _no_step(closure: Callable[[], Any], after_closure: Callable[[], None] | None = None) -> Any:
    raise RuntimeError("configure_optimizers returned no optimizer to step")


class Optimization:
    """The optimization of one fit: per-batch automatic steps, and the steps users call.

    Args:
        run: the fit's run state (module, strategy, hooks, optimizers set up).
    """

    def __init__(self, run: RunState) -> None:
        self.run = run
        calls = self.calls = run.hooks
        self.model = run.lightning_module
        self.ctx = self.model.log_context
        self.strategy = run.strategy
        self.steps = run.strategy.step_functions()
        self.forward = run.forward_module
        # what no_backward_sync acts on: the wrapped (DDP) or sharded (FSDP) module
        self.sync_module = run.wrapped_module if run.wrapped_module is not None else self.forward
        self.progress = run.progress
        plan = run.plan
        self.accumulate = plan.accumulate_grad_batches
        overridden = calls.overridden
        self.custom_backward = "backward" in overridden
        self.custom_zero_grad = "optimizer_zero_grad" in overridden
        self.custom_opt_step = "optimizer_step" in overridden
        self.zero_hooks = calls.active("on_before_zero_grad")
        self.backward_hooks = calls.active("on_before_backward") or calls.active(
            "on_after_backward"
        )
        self.step_hooks = calls.active("on_before_optimizer_step")
        self.clip_val, self.clip_algo = plan.gradient_clip_val, plan.gradient_clip_algorithm
        self.clip = self.clip_val is not None or "configure_gradient_clipping" in overridden
        self.forward_context = self.strategy.precision.has_forward_context
        # The pieces of the closure, chosen once: torch's calls when nothing is in between.
        self.plain_zero_grad = not (self.zero_hooks or self.custom_zero_grad)
        self.backward: Callable[[torch.Tensor], None] = (
            self.steps.backward
            if not (self.custom_backward or self.backward_hooks)
            else self._hooked_backward
        )
        lopts = run.optim.lightning_optimizers
        self.lopt = lopts[0] if lopts else None  # several need manual optimization
        self.optimizer = self.lopt.optimizer if self.lopt is not None else None
        #: the strategy's optimizer step for this optimizer: ``step(closure, after_closure)``
        self.step: Callable[..., Any] = (
            self.steps.stepper(self.optimizer) if self.optimizer is not None else _no_step
        )
        self.after: Callable[[], None] | None = (
            partial(self.after_closure, self.optimizer)
            if (self.step_hooks or self.clip) and self.optimizer is not None
            else None
        )
        # the batch the closure works on (set per batch; the closure itself takes no arguments)
        self.batch: Any = None
        self.batch_idx = 0
        self.zero_now = True
        self.output: Any = None
        self.loss: torch.Tensor | None = None
        self.skipped = 0  # batches whose training_step returned None, this epoch

    # --- the pieces ------------------------------------------------------------------------------
    def run_step(self, batch: Any, batch_idx: int) -> Any:
        """The user's training_step, under the precision context and through DDP when wrapped."""
        ctx = self.ctx
        ctx.fx = "training_step"
        if self.forward_context:
            with self.strategy.forward_context():
                output = self.forward(batch, batch_idx)
        else:
            output = self.forward(batch, batch_idx)
        ctx.fx = None
        return output

    def zero_grad(self, optimizer: torch.optim.Optimizer, batch_idx: int) -> None:
        """Zero the gradients; the hooks get the torch optimizer, not its LightningOptimizer."""
        if self.zero_hooks:
            self.calls.both("on_before_zero_grad", optimizer)
        if self.custom_zero_grad:
            self.calls.module("optimizer_zero_grad", self.progress.epoch, batch_idx, optimizer)
        else:
            optimizer.zero_grad()

    def _hooked_backward(self, loss: torch.Tensor) -> None:
        calls = self.calls
        if self.backward_hooks:
            calls.both("on_before_backward", loss)
        if self.custom_backward:
            self.steps.backward_with(loss, partial(calls.module, "backward"))
        else:
            self.steps.backward(loss)
        if self.backward_hooks:
            calls.both("on_after_backward")

    def closure(self) -> torch.Tensor | None:
        """training_step, zero_grad (on an accumulation window's first batch), backward."""
        output = self.output = self.run_step(self.batch, self.batch_idx)
        loss = output if type(output) is torch.Tensor else loss_of(output)
        if loss is not None and self.accumulate > 1:
            loss = loss / self.accumulate
        self.loss = loss
        if self.zero_now:
            if self.plain_zero_grad:
                self.optimizer.zero_grad()  # type: ignore[union-attr]
            else:
                self.zero_grad(self.optimizer, self.batch_idx)  # type: ignore[arg-type]
        if loss is not None:
            self.backward(loss)
        else:
            self.skipped += 1  # counted for the end of the epoch (nothing trained?)
        return loss

    def _forward_only_closure(self) -> torch.Tensor | None:
        """The closure while backward is skipped: training_step only, no zero_grad, no backward
        (the optimizer then steps with the gradients it holds, as under Lightning)."""
        output = self.output = self.run_step(self.batch, self.batch_idx)
        loss = output if type(output) is torch.Tensor else loss_of(output)
        if loss is not None and self.accumulate > 1:
            loss = loss / self.accumulate
        self.loss = loss
        return loss

    @property
    def skip_backward(self) -> bool:
        """Whether the closure skips zero_grad and backward (``trainer.fit_loop._skip_backward``,
        which StochasticWeightAveraging sets for its BatchNorm epoch). Setting it swaps the
        closure once; the per-batch path tests nothing."""
        return "closure" in vars(self)

    @skip_backward.setter
    def skip_backward(self, value: bool) -> None:
        if value:
            setattr(self, "closure", self._forward_only_closure)  # noqa: B010 (shadows the method)
        else:
            vars(self).pop("closure", None)

    def after_closure(self, optimizer: torch.optim.Optimizer) -> None:
        """Between the gradients and the step: hooks, then clipping (gradients already unscaled)."""
        if self.step_hooks:
            self.calls.both("on_before_optimizer_step", optimizer)
        if self.clip:
            self.calls.module(
                "configure_gradient_clipping", optimizer, self.clip_val, self.clip_algo
            )

    # --- a batch ---------------------------------------------------------------------------------
    def run_batch(self, batch: Any, batch_idx: int, window_start: bool, window_end: bool) -> bool:
        """Optimize one batch (automatic mode); returns whether the optimizer stepped."""
        self.batch, self.batch_idx, self.zero_now = batch, batch_idx, window_start
        if not window_end:
            with self.strategy.no_backward_sync(self.sync_module, True):
                self.closure()
            return False
        if self.custom_opt_step:
            self.calls.module(
                "optimizer_step", self.progress.epoch, batch_idx, self.lopt, self.closure
            )
        else:
            self.step(self.closure, self.after)
        return True

    #: one batch under manual optimization (the profiled optimization times it)
    run_manual = run_step

    # --- steps the user calls --------------------------------------------------------------------
    def user_step(
        self,
        optimizer: torch.optim.Optimizer,
        closure: Callable[[], Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """What ``LightningOptimizer.step`` runs: from a module's ``optimizer_step`` override
        (automatic) or from ``training_step`` (manual: hooks, precision, step count)."""
        closure = closure or _no_closure
        if self.model.automatic_optimization:
            after = (
                partial(self.after_closure, optimizer) if (self.step_hooks or self.clip) else None
            )
            return self.steps.optimizer_step(optimizer, closure, after)
        calls = self.calls

        def after_manual() -> None:
            calls.both("on_before_optimizer_step", optimizer)

        result = self.steps.optimizer_step(optimizer, closure, after_manual)
        self.progress.global_step += 1
        return result

    def manual_backward(self, loss: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        """``self.manual_backward(loss)``: hooks around the strategy's backward."""
        calls = self.calls
        calls.both("on_before_backward", loss)
        if self.custom_backward:
            self.steps.backward_with(
                loss, lambda t, *a: calls.module("backward", t, *a, **kwargs), *args
            )
        else:
            self.steps.backward_with(loss, lambda t, *a: t.backward(*a, **kwargs), *args)
        calls.both("on_after_backward")


# ---------------------------------------------------------------------------------------------
# schedulers
# ---------------------------------------------------------------------------------------------
def step_schedulers(run: RunState, interval: str, batch_idx: int, plateau: bool = False) -> None:
    """Lightning's rule: "step" schedulers count batches of the epoch, "epoch" ones count epochs."""
    for config in run.optim.lr_scheduler_configs:
        if config.interval != interval or config.reduce_on_plateau != plateau:
            continue
        count = batch_idx + 1 if interval == "step" else run.progress.epoch + 1
        if count % config.frequency:
            continue
        if plateau:
            step_plateau_scheduler(run, config)
        else:
            run.hooks.module("lr_scheduler_step", config.scheduler, None)
            run.progress.epoch_scheduler_steps += 1


def step_plateau_scheduler(run: RunState, config: LRSchedulerConfig) -> None:
    """Step a ReduceLROnPlateau with the value of its monitor (strict: a missing one fails)."""
    metrics = run.trainer.callback_metrics
    value = metrics.get(config.monitor) if config.monitor is not None else None
    if value is None:
        if config.strict:
            raise MisconfigurationException(
                f"ReduceLROnPlateau conditioned on metric {config.monitor!r} which is not "
                f"available. Available metrics are: {sorted(metrics)}. Log it "
                "with self.log, or set 'strict': False in the scheduler config."
            )
        import warnings

        warnings.warn(
            f"ReduceLROnPlateau: metric {config.monitor!r} not found; skipping.", stacklevel=2
        )
        return
    run.hooks.module("lr_scheduler_step", config.scheduler, value)
    run.progress.epoch_scheduler_steps += 1
