"""``ModelSummary``: print a table of the model's layers and parameter counts when fit starts.

::

    from plkit.callbacks import ModelSummary

    trainer = Trainer(callbacks=[ModelSummary(max_depth=2)])   # children and grandchildren

The table itself comes from :func:`plkit.callbacks._summary.summarize`, a pure function.
"""

from __future__ import annotations

import logging
from typing import Any

from plcore.callback import Callback
from plkit.callbacks import _summary

__all__ = ["ModelSummary"]

log = logging.getLogger(__name__)


class ModelSummary(Callback):
    """Log the model summary once, on global rank 0, at the start of ``fit``.

    Columns: index, Name, Type, Params, Mode (train/eval), and "In sizes" / "Out sizes" when the
    module sets ``example_input_array``; then trainable, non-trainable and total parameters, the
    estimated size of the parameters in MB, and how many modules are in train and eval mode.

    Args:
        max_depth: how deep to list submodules: 1 direct children, -1 all levels, 0 no summary.
    """

    def __init__(self, max_depth: int = 1) -> None:
        super().__init__()
        _summary._check_depth(max_depth)
        self._max_depth = max_depth

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        # Only rank 0 prints, so only rank 0 pays for the example forward pass.
        if not self._max_depth or not trainer.is_global_zero:
            return
        self.summarize(_summary.summarize(pl_module, self._max_depth))

    @staticmethod
    def summarize(summary_table: str) -> None:
        """Emit the table; override to send it elsewhere.

        Args:
            summary_table: the text from :func:`~plkit.callbacks._summary.summarize`.
        """
        log.info("\n" + summary_table)
