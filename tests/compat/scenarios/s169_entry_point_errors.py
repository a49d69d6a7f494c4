"""The errors fit / validate / test / predict raise for a ckpt_path they cannot use and for a
missing or wrong model: the class and message of each, the lines printed before it and the
trainer's state after it. (s170 has the order of these checks and the step-method checks: its
few entry points compare one by one, so the kept MisconfigurationException bases are excused.)"""

from typing import Any

import torch
from models import EveryStep, attempt, bare_trainer


def trainer(**kwargs: Any) -> Any:
    return bare_trainer(max_epochs=1, **kwargs)


def main() -> None:
    torch.manual_seed(0)
    for fn in ("fit", "validate", "test", "predict"):
        attempt(f"{fn}_best_no_callback", trainer(), fn, EveryStep(), ckpt_path="best")
        attempt(f"{fn}_missing_file", trainer(), fn, EveryStep(), ckpt_path="nowhere/missing.ckpt")
        attempt(f"{fn}_hpc_none", trainer(), fn, EveryStep(), ckpt_path="hpc")
        attempt(f"{fn}_empty", trainer(), fn, EveryStep(), ckpt_path="")
        attempt(f"{fn}_a_number", trainer(), fn, EveryStep(), ckpt_path=3)
    for fn in ("validate", "test", "predict"):
        attempt(
            f"{fn}_best_not_saved",
            trainer(enable_checkpointing=True),
            fn,
            EveryStep(),
            ckpt_path="best",
        )
        attempt(
            f"{fn}_best_fast_dev_run",
            trainer(enable_checkpointing=True, fast_dev_run=True),
            fn,
            EveryStep(),
            ckpt_path="best",
        )
        attempt(f"{fn}_no_model", trainer(), fn)
        attempt(f"{fn}_no_model_best", trainer(enable_checkpointing=True), fn, ckpt_path="best")
        attempt(f"{fn}_not_a_module", trainer(), fn, torch.nn.Linear(2, 1))
    attempt("fit_not_a_module", trainer(), "fit", torch.nn.Linear(2, 1))
