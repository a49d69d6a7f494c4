"""LearningRateFinder: the learning rate range test at the start of fit, as a callback.

::

    trainer = Trainer(callbacks=[LearningRateFinder()])
    trainer.fit(model)        # finds the learning rate, sets model.lr, then trains with it
"""

from __future__ import annotations

from typing import Any

from plcore import Callback, LightningModule
from plcore.utilities.seed import isolate_rng
from plkit.tuner.lr_finder import _LRFinder, lr_find
from plkit.utilities.exceptions import _TunerExitException

__all__ = ["LearningRateFinder"]


class LearningRateFinder(Callback):
    """Runs the learning rate range test in ``on_fit_start`` (override the hooks to run it
    elsewhere, calling :meth:`lr_find`); the random state is left as it was.

    Args:
        min_lr: the smallest learning rate tried.
        max_lr: the largest learning rate tried.
        num_training_steps: how many learning rates (steps) to try.
        mode: "exponential" (the default) or "linear" growth after each step.
        early_stop_threshold: stop once the smoothed loss exceeds this times the best (None: never).
        update_attr: set the suggestion on the model's ``lr`` / ``learning_rate`` (or
            ``attr_name``) and on the optimizers.
        attr_name: the attribute holding the learning rate, when not ``lr`` / ``learning_rate``.
    """

    SUPPORTED_MODES = ("linear", "exponential")

    def __init__(
        self,
        min_lr: float = 1e-8,
        max_lr: float = 1,
        num_training_steps: int = 100,
        mode: str = "exponential",
        early_stop_threshold: float | None = 4.0,
        update_attr: bool = True,
        attr_name: str = "",
    ) -> None:
        mode = mode.lower()
        if mode not in self.SUPPORTED_MODES:
            raise ValueError(f"`mode` should be either of {self.SUPPORTED_MODES}")
        self._min_lr = min_lr
        self._max_lr = max_lr
        self._num_training_steps = num_training_steps
        self._mode = mode
        self._early_stop_threshold = early_stop_threshold
        self._update_attr = update_attr
        self._attr_name = attr_name
        self._early_exit = False
        self.optimal_lr: _LRFinder | None = None

    def lr_find(self, trainer: Any, pl_module: LightningModule) -> None:
        """Run the search now (inside fit); the result is ``self.optimal_lr``."""
        with isolate_rng():
            self.optimal_lr = lr_find(
                trainer,
                pl_module,
                min_lr=self._min_lr,
                max_lr=self._max_lr,
                num_training=self._num_training_steps,
                mode=self._mode,
                early_stop_threshold=self._early_stop_threshold,
                update_attr=self._update_attr,
                attr_name=self._attr_name,
            )
        if self._early_exit:
            raise _TunerExitException()

    def on_fit_start(self, trainer: Any, pl_module: LightningModule) -> None:
        self.lr_find(trainer, pl_module)
