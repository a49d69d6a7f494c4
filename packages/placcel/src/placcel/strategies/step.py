"""How a strategy runs backward and an optimizer step, resolved once per fit.

:meth:`Strategy.step_functions` answers with a :class:`StepFunctions`: the two operations a
training loop needs, already specialised. When neither the strategy nor its precision adds
anything to ``loss.backward()`` or ``optimizer.step(closure)`` (full precision on one device or
under DDP, whose gradient sync rides on autograd hooks), they are torch's own calls, with no
frames in between; otherwise they go through :meth:`Strategy.backward` and
:meth:`Strategy.optimizer_step`. The decision is the strategy's, made from its own classes, so a
subclass that overrides either method (or a Precision that does) is always honoured::

    steps = strategy.step_functions()
    steps.backward(loss)                                    # inside the closure
    steps.optimizer_step(optimizer, closure, after_closure)  # any optimizer, any time
    step = steps.stepper(optimizer)                         # a training loop's, made once
    step(closure, after_closure)

For torch's first-order optimizers (which evaluate the closure once, first thing) the plain step
calls the closure itself and then ``optimizer.step()``: the same result without torch's closure
plumbing; with a step pre-hook registered it defers to ``optimizer.step(closure)``, which runs the
hook first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.optim.optimizer as _torch_optimizer

__all__ = ["StepFunctions", "closure_runs_once", "plain_optimizer_step", "plain_stepper"]

#: torch optimizers whose ``step(closure)`` evaluates the closure exactly once, first thing.
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
# torch keeps the global step pre-hooks in a module dict; an unknown torch counts as "has some".
_GLOBAL_PRE_HOOKS: dict[Any, Any] = getattr(
    _torch_optimizer, "_global_optimizer_pre_hooks", {"unknown": None}
)


def closure_runs_once(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer.step(closure)`` is the same as ``closure(); optimizer.step()``.

    True for torch's first-order optimizers (they call the closure once, before updating) when
    no step pre-hook is registered (a pre-hook runs before the closure inside ``step``).
    """
    return (
        type(optimizer) in _CLOSURE_ONCE
        and not getattr(optimizer, "_optimizer_step_pre_hooks", True)
        and not _GLOBAL_PRE_HOOKS
    )


def plain_optimizer_step(
    optimizer: torch.optim.Optimizer,
    closure: Callable[[], Any],
    after_closure: Callable[[], None] | None = None,
) -> Any:
    """``optimizer.step`` with a closure that runs ``closure`` then ``after_closure``; returns
    the closure's result. Optimizers that run the closure once get it called directly, which
    gives the same result without torch's closure plumbing."""
    if closure_runs_once(optimizer):
        return _closure_then_step(optimizer, closure, after_closure)
    if after_closure is None:
        return optimizer.step(closure=closure)

    def wrapped() -> Any:
        result = closure()
        after_closure()
        return result

    return optimizer.step(closure=wrapped)


def plain_stepper(optimizer: torch.optim.Optimizer) -> Callable[..., Any]:
    """:func:`plain_optimizer_step` bound to ``optimizer``, with the type test done once: the
    training loop's step for one optimizer, ``step(closure, after_closure=None)``."""
    if type(optimizer) not in _CLOSURE_ONCE:
        return partial(plain_optimizer_step, optimizer)
    hooks = getattr(optimizer, "_optimizer_step_pre_hooks", None)
    if hooks is None:  # an optimizer that is not torch's: the general path
        return partial(plain_optimizer_step, optimizer)

    def step(closure: Callable[[], Any], after_closure: Callable[[], None] | None = None) -> Any:
        if hooks or _GLOBAL_PRE_HOOKS:  # registered since: let torch order them
            return plain_optimizer_step(optimizer, closure, after_closure)
        return _closure_then_step(optimizer, closure, after_closure)

    return step


def _closure_then_step(
    optimizer: torch.optim.Optimizer,
    closure: Callable[[], Any],
    after_closure: Callable[[], None] | None,
) -> Any:
    """What ``step(closure)`` amounts to for an optimizer that runs the closure once, first."""
    result = closure()
    if after_closure is not None:
        after_closure()
    optimizer.step()
    return result


def _tensor_backward(tensor: torch.Tensor, *args: Any) -> None:
    tensor.backward(*args)


@dataclass(frozen=True)
class StepFunctions:
    """The backward and optimizer step of one strategy, specialised (see the module docstring).

    Attributes:
        backward: ``backward(loss)``: the precision's scaling, then ``loss.backward()``.
        backward_with: ``backward_with(loss, backward_fn, *args)``: the same with the caller's
            ``backward_fn`` (a module's ``backward`` hook) doing the final call.
        optimizer_step: ``optimizer_step(optimizer, closure, after_closure=None)``: runs the
            closure (forward and backward), then ``after_closure`` (hooks, clipping) on
            unscaled gradients, then the update; returns the closure's result.
        plain: whether both are torch's own calls (nothing added by the strategy or precision).
    """

    backward: Callable[[torch.Tensor], None]
    backward_with: Callable[..., None]
    optimizer_step: Callable[..., Any]
    plain: bool

    def stepper(self, optimizer: torch.optim.Optimizer) -> Callable[..., Any]:
        """``optimizer_step`` for one optimizer, ``step(closure, after_closure=None)``, with
        what can be decided once about it decided now (the training loop's per-batch step)."""
        if self.plain:
            return plain_stepper(optimizer)
        return partial(self.optimizer_step, optimizer)


def step_functions_of(strategy: Any) -> StepFunctions:
    """Build :class:`StepFunctions` for ``strategy`` (what ``Strategy.step_functions`` returns)."""
    from placcel.precision.precision import Precision
    from placcel.strategies.strategy import Strategy

    precision = type(strategy.precision)
    own = type(strategy)
    plain_backward = own.backward is Strategy.backward and precision.backward is Precision.backward
    plain_step = (
        own.optimizer_step is Strategy.optimizer_step
        and precision.optimizer_step is Precision.optimizer_step
    )

    def backward(loss: torch.Tensor) -> None:
        strategy.backward(loss, _tensor_backward)

    def optimizer_step(
        optimizer: torch.optim.Optimizer,
        closure: Callable[[], Any],
        after_closure: Callable[[], None] | None = None,
    ) -> Any:
        return strategy.optimizer_step(optimizer, closure, after_closure or _nothing)

    return StepFunctions(
        backward=torch.Tensor.backward if plain_backward else backward,
        backward_with=strategy.backward,
        optimizer_step=plain_optimizer_step if plain_step else optimizer_step,
        plain=plain_backward and plain_step,
    )


def _nothing() -> None:
    return None
