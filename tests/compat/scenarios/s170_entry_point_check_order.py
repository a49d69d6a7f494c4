"""The order of the checks fit / validate / test / predict make before they run: the step methods
before the checkpoint file is read, ``ckpt_path="best"`` before the step methods, and after a
fit a call without a model falls back to "best" (errors, lines printed, state after each).
Few entry points, so that they compare one by one (see s169 for the ckpt_path errors)."""

from typing import Any

import torch
from harness import T
from models import EveryStep, NoTrainingStep, attempt, bare_trainer


def trainer(**kwargs: Any) -> Any:
    return bare_trainer(max_epochs=1, **kwargs)


def main() -> None:
    torch.manual_seed(0)
    # the step methods are checked before the checkpoint is read
    attempt("fit_no_step_missing_file", trainer(), "fit", NoTrainingStep(), ckpt_path="x.ckpt")
    # ... and "best" before the step methods
    attempt("test_no_step_best", trainer(), "test", NoTrainingStep(), ckpt_path="best")
    # after a fit (its sanity check leaves the RNG alone, val_dataloader included), a call
    # without a model falls back to "best"
    fitted = trainer()
    T.fit(fitted, EveryStep())
    attempt("validate_after_fit_no_model", fitted, "validate")
