"""``LightningOptimizer``: the optimizer a LightningModule sees inside the Trainer.

It *is* the user's optimizer for every purpose (``isinstance(opt, torch.optim.Adam)`` holds, and
``param_groups`` / ``state`` are the same objects), except that ``step`` goes through the runtime:
the precision plugin (gradient scaling), ``on_before_optimizer_step`` hooks, clipping and the
step counter.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import Any

import torch

__all__ = ["LightningOptimizer"]

StepFn = Callable[..., Any]


class LightningOptimizer:
    """Wraps ``optimizer`` so that ``step`` runs through the Trainer's optimizer-step function.

    Args:
        optimizer: the optimizer returned by ``configure_optimizers``.
        step_fn: ``step_fn(optimizer, closure, **kwargs)`` performs the step (set by the Trainer).
            Without one, ``step`` calls the optimizer directly, as in a plain loop.
        module: the LightningModule it belongs to (``toggle_model`` toggles its parameters);
            None: ``toggle_model`` does nothing.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        step_fn: StepFn | None = None,
        module: Any = None,
    ) -> None:
        if isinstance(optimizer, LightningOptimizer):
            optimizer = optimizer.optimizer
        # Become an instance of a subclass of the optimizer's type, so `isinstance` checks in user
        # code hold; every other attribute (param_groups, state, defaults, hooks) is read from the
        # wrapped optimizer on each access, so it stays right after load_state_dict rebinds them.
        self.__class__ = type(
            "Lightning" + type(optimizer).__name__, (self.__class__, type(optimizer)), {}
        )
        self._optimizer = optimizer
        self._step_fn = step_fn
        self._module = module  # the LightningModule whose parameters toggle_model toggles

    def __getattr__(self, name: str) -> Any:
        if name in ("_optimizer", "_step_fn", "_module", "__setstate__"):
            raise AttributeError(name)
        return getattr(self._optimizer, name)

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The wrapped optimizer."""
        return self._optimizer

    def step(self, closure: Callable[[], Any] | None = None, **kwargs: Any) -> Any:
        """Step the optimizer through the runtime (hooks, precision, clipping, step count)."""
        if self._step_fn is None:
            return (
                self._optimizer.step(closure, **kwargs)
                if closure
                else self._optimizer.step(**kwargs)
            )
        return self._step_fn(self._optimizer, closure, **kwargs)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return self._optimizer.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._optimizer.load_state_dict(state_dict)

    @contextmanager
    def toggle_model(self, sync_grad: bool = True) -> Generator[None, None, None]:
        """Within this block only this optimizer's parameters require gradients."""
        module = getattr(self, "_module", None)
        if module is None:
            yield
            return
        module.toggle_optimizer(self)
        try:
            yield
        finally:
            module.untoggle_optimizer(self)

    def __repr__(self) -> str:
        return f"LightningOptimizer({self._optimizer!r})"
