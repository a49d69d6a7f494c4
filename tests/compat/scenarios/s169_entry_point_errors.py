"""The errors fit / validate / test / predict raise for a ckpt_path they cannot use and for a
missing or wrong model: the class and message of each, the lines printed before it and the
trainer's state after it. (s170 has the order of these checks and the step-method checks: its
few entry points compare one by one, so the kept MisconfigurationException bases are excused.)"""

from typing import Any

import torch
from harness import T, pl
from torch.utils.data import DataLoader


def data() -> DataLoader:
    return DataLoader(torch.randn(4, 2), batch_size=2)


class Model(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch).sum()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val", self.layer(batch).sum())

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test", self.layer(batch).sum())

    def predict_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch)

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self) -> Any:
        return data()

    def val_dataloader(self) -> Any:
        return data()

    def test_dataloader(self) -> Any:
        return data()

    def predict_dataloader(self) -> Any:
        return data()


def trainer(**kwargs: Any) -> Any:
    kwargs.setdefault("enable_checkpointing", False)
    return pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def attempt(name: str, trainer: Any, fn: str, *args: Any, **kwargs: Any) -> None:
    """Run ``trainer.<fn>`` (recorded as an entry point); note what it raised, and its message."""
    try:
        getattr(T, fn)(trainer, *args, **kwargs)
    except Exception as exc:
        T.note(name, [type(exc).__name__, str(exc)])
    else:
        T.note(name, None)


def main() -> None:
    torch.manual_seed(0)
    for fn in ("fit", "validate", "test", "predict"):
        attempt(f"{fn}_best_no_callback", trainer(), fn, Model(), ckpt_path="best")
        attempt(f"{fn}_missing_file", trainer(), fn, Model(), ckpt_path="nowhere/missing.ckpt")
        attempt(f"{fn}_hpc_none", trainer(), fn, Model(), ckpt_path="hpc")
        attempt(f"{fn}_empty", trainer(), fn, Model(), ckpt_path="")
        attempt(f"{fn}_a_number", trainer(), fn, Model(), ckpt_path=3)
    for fn in ("validate", "test", "predict"):
        attempt(
            f"{fn}_best_not_saved",
            trainer(enable_checkpointing=True),
            fn,
            Model(),
            ckpt_path="best",
        )
        attempt(
            f"{fn}_best_fast_dev_run",
            trainer(enable_checkpointing=True, fast_dev_run=True),
            fn,
            Model(),
            ckpt_path="best",
        )
        attempt(f"{fn}_no_model", trainer(), fn)
        attempt(f"{fn}_no_model_best", trainer(enable_checkpointing=True), fn, ckpt_path="best")
        attempt(f"{fn}_not_a_module", trainer(), fn, torch.nn.Linear(2, 1))
    attempt("fit_not_a_module", trainer(), "fit", torch.nn.Linear(2, 1))
