"""Loop progress: what the fit and evaluation loops have done (saved in checkpoints for resume)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["EvalProgress", "FitProgress"]


@dataclass
class FitProgress:
    """Where training stands.

    ``batches_that_stepped`` counts batches that ended an accumulation window (Lightning's step
    axis for loggers); ``resume_batch`` is the batch a resumed epoch starts from;
    ``epoch_rng`` is the torch RNG state just before the epoch's loader iterator was created;
    ``failed_batch`` says how far the batch an exception stopped had got before its counters
    moved on (0: none in flight; 1: fetched, its transfer failed; 2: failed in
    ``on_train_batch_start``; 3: its optimization had started), for the ``loops`` counters an
    ``on_exception`` checkpoint records (as Lightning's, whose ``ready`` / ``started`` count it).
    ``epoch_scheduler_steps`` and ``epoch_val_batches`` count the LR-scheduler steps and the
    batches of fit's finished validation passes since the epoch began (Lightning's
    ``scheduler_progress`` and validation ``batch_progress`` totals, which restart each epoch).
    """

    epoch: int = 0
    global_step: int = 0
    batches_done: int = 0
    batches_that_stepped: int = 0
    total_batch_idx: int = 0
    resume_batch: int = 0
    epoch_finished: bool = False
    is_last_batch: bool = False
    epoch_rng: Any = None
    failed_batch: int = 0
    epoch_scheduler_steps: int = 0
    epoch_val_batches: int = 0


@dataclass
class EvalProgress:
    """Where the current evaluation pass stands; ``fit_val_batches`` is how many batches fit's
    last validation ran (Lightning's fit keeps them in its validation loop's counters)."""

    dataloader_idx: int = 0
    batches_done: int = 0
    fit_val_batches: int = 0

    def reset(self) -> None:
        self.dataloader_idx = 0
        self.batches_done = 0
