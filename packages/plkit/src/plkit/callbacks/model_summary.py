"""``ModelSummary``: print a table of the model's layers and parameter counts when fit starts.

::

    from plkit.callbacks import ModelSummary

    trainer = Trainer(callbacks=[ModelSummary(max_depth=2)])   # children and grandchildren

The table itself comes from :func:`plkit.callbacks._summary.summarize`, a pure function.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from plcore.callback import Callback
from plkit.callbacks import _summary

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["ModelSummary"]

log = logging.getLogger(__name__)


class ModelSummary(Callback):
    """Log the model summary once, on global rank 0, at the start of ``fit``.

    Columns: index, Name, Type, Params, Mode (train/eval), FLOPs, and "In sizes" / "Out sizes"
    when the module sets ``example_input_array`` (FLOPs are counted in that example's forward
    pass, 0 without one); then trainable, non-trainable and total parameters, the estimated size
    in MB (parameters at the Trainer's precision), the modules in train and eval mode, and the
    total FLOPs.

    Args:
        max_depth: how deep to list submodules: 1 direct children, -1 all levels, 0 no summary.
        **summarize_kwargs: passed on to :meth:`summarize`, for a subclass that takes options.
    """

    def __init__(self, max_depth: int = 1, **summarize_kwargs: Any) -> None:
        super().__init__()
        _summary._check_depth(max_depth)
        self._max_depth = max_depth
        self._summarize_kwargs = summarize_kwargs

    def on_fit_start(self, trainer: Trainer, pl_module: Any) -> None:
        if not self._max_depth:
            return
        columns, total, trainable, size, modes, flops = _summary.summary_data(
            pl_module, self._max_depth, getattr(trainer, "precision", None)
        )
        if trainer.is_global_zero:
            self.summarize(columns, total, trainable, size, modes, flops, **self._summarize_kwargs)

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        """Log the table; override to send it elsewhere.

        Args:
            summary_data: the columns, ``(header, cells)`` each.
            total_parameters: every parameter, counted once.
            trainable_parameters: those with ``requires_grad``.
            model_size: the estimated size in MB.
            total_training_modes: ``{"train": n, "eval": m}`` submodules.
            total_flops: FLOPs of the example forward pass (0 without one).
            **summarize_kwargs: the extra arguments given to the callback.
        """
        table = _summary.format_summary_table(
            total_parameters,
            trainable_parameters,
            model_size,
            total_training_modes,
            total_flops,
            *summary_data,
        )
        log.info("\n" + table)
