"""The Precision interface, and full float32 precision (``"32-true"``), the default.

A Precision decides the dtype of weights and inputs, what runs under autocast, how the loss is
scaled before ``backward`` and how an optimizer step is taken. Strategies delegate to it; the
training loop never branches on the precision itself.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

__all__ = ["Precision"]


class Precision:
    """Full float32 precision (``precision="32-true"``); the base the other precisions extend.

    Example::

        precision = Precision()
        precision.optimizer_step(optimizer, closure, after_closure)
    """

    #: The flag value this precision stands for.
    precision: str = "32-true"
    #: False when :meth:`forward_context` is a no-op, so the loop can skip entering it.
    has_forward_context: bool = False
    #: False when :meth:`convert_input` returns its input, so batches on the right device
    #: need no walk at all.
    converts_input: bool = False

    def convert_module(self, module: nn.Module) -> nn.Module:
        """Cast the module's parameters and buffers to this precision (a no-op here).

        Args:
            module: the module to convert in place.
        """
        return module

    def convert_input(self, data: Any) -> Any:
        """Cast the floating-point tensors of a batch to this precision (a no-op here).

        Args:
            data: a tensor or a collection of tensors.
        """
        return data

    def forward_context(self) -> AbstractContextManager[Any]:
        """The context the forward pass (``*_step``) runs in; a ``nullcontext`` here."""
        return nullcontext()

    def backward(self, tensor: torch.Tensor, backward_fn: Callable[..., None], *args: Any) -> None:
        """Run ``backward_fn(tensor, *args)``; subclasses may scale ``tensor`` first.

        Args:
            tensor: the loss.
            backward_fn: what actually calls ``backward`` (the module's ``backward`` hook).
            *args: passed on to ``backward_fn``.
        """
        backward_fn(tensor, *args)

    def optimizer_step(
        self,
        optimizer: torch.optim.Optimizer,
        closure: Callable[[], Any],
        after_closure: Callable[[], None],
    ) -> Any:
        """Step ``optimizer`` with a closure that runs ``closure`` then ``after_closure``.

        Passing the closure to ``optimizer.step`` (rather than calling it first) keeps optimizers
        that evaluate it several times, such as LBFGS, working.

        Args:
            optimizer: the optimizer to step.
            closure: runs forward and backward and returns the loss (``None`` to skip the step).
            after_closure: runs after each backward, before the update (hooks, clipping).
        """

        def wrapped() -> Any:
            result = closure()
            after_closure()
            return result

        return optimizer.step(closure=wrapped)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint must keep of this precision (nothing here)."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (nothing to restore here).

        Args:
            state_dict: a dict produced by :meth:`state_dict`.
        """

    def teardown(self) -> None:
        """Undo global changes made by this precision (none here)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(precision={self.precision!r})"
