"""``trainer.fit_loop``: the limits of a running fit that a callback may change.

Lightning's callbacks change them in their hooks (``StochasticWeightAveraging`` runs one more
epoch, over one more batch than the loader has, without backward, for its BatchNorm pass):

    trainer.fit_loop.max_epochs += 1
    trainer.fit_loop.max_batches += 1
    trainer.fit_loop._skip_backward = True

The object is a view over the Trainer's plan and run state; it holds nothing itself. Nothing here
runs per batch: the training loop reads the limits when an epoch starts (``max_epochs`` between
epochs), and skipping backward swaps the closure once.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["FitLoop", "replace_plan"]


def replace_plan(trainer: Trainer, **changes: Any) -> None:
    """Change flags of the Trainer's plan for the rest of the current run (and later runs)."""
    trainer._plan = dataclasses.replace(trainer._plan, **changes)
    run = trainer._runstate
    run.plan = dataclasses.replace(run.plan, **changes)
    if "accumulate_grad_batches" in changes and run.optimization is not None:
        run.optimization.accumulate = changes["accumulate_grad_batches"]


class FitLoop:
    """What ``trainer.fit_loop`` offers (Lightning's names): ``max_epochs``, ``max_batches``
    (``trainer.num_training_batches``) and ``_skip_backward``, each readable and settable."""

    def __init__(self, trainer: Trainer) -> None:
        self._trainer = trainer

    @property
    def max_epochs(self) -> int | None:
        """The epochs this fit runs (``trainer.max_epochs``)."""
        max_epochs: int | None = self._trainer.max_epochs
        return max_epochs

    @max_epochs.setter
    def max_epochs(self, value: int | None) -> None:
        replace_plan(self._trainer, max_epochs=value)

    @property
    def max_batches(self) -> int | float:
        """The training batches per epoch (``trainer.num_training_batches``); an epoch also ends
        when its loader runs out."""
        return self._trainer.num_training_batches

    @max_batches.setter
    def max_batches(self, value: int | float) -> None:
        self._trainer.num_training_batches = value

    @property
    def _skip_backward(self) -> bool:
        """Whether automatic optimization runs training_step only (no zero_grad, no backward)."""
        optimization = self._trainer._runstate.optimization
        return optimization is not None and optimization.skip_backward

    @_skip_backward.setter
    def _skip_backward(self, value: bool) -> None:
        optimization = self._trainer._runstate.optimization
        if optimization is None:
            raise RuntimeError("fit_loop._skip_backward can be set only while fit runs.")
        optimization.skip_backward = value
