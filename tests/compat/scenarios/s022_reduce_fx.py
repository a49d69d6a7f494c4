"""reduce_fx "sum", "max", "min", torch.min / torch.mean in epochs; then the self.log misuses that
raise (a custom callable reduce_fx, a string, a vector, the same key with other options, ...)."""

from typing import Any

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Reduce(Net):
    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self.loss(batch)
        self.log("t_sum", loss, on_step=False, on_epoch=True, reduce_fx="sum")
        self.log("t_max", loss, on_step=False, on_epoch=True, reduce_fx="max")
        self.log("t_min", loss, on_step=False, on_epoch=True, reduce_fx=torch.min)
        self.log("t_mean", loss, on_step=False, on_epoch=True, reduce_fx=torch.mean)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        loss = self.loss(batch)
        self.log("v_sum", loss, reduce_fx="sum")
        self.log("v_max", loss, reduce_fx=torch.max)
        self.log("v_min", loss, reduce_fx="min")


def main() -> None:
    model = Reduce()
    trainer = quiet_trainer(
        max_epochs=2,
        logger=pl.loggers.CSVLogger("."),
        enable_progress_bar=False,
        limit_train_batches=3,
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
    misuses()


class Misuse(Net):
    case = ""

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self.loss(batch)
        case = self.case
        if case == "custom_fx":
            self.log("a", loss, reduce_fx=lambda t: t.max())
        elif case == "string":
            self.log("a", "text")
        elif case == "vector":
            self.log("a", torch.ones(3))
        elif case == "dataloader_name":
            self.log("a/dataloader_idx_0", loss)
        elif case == "other_options":
            self.log("a", loss)
            self.log("a", loss, prog_bar=True)
        elif case == "nowhere":
            self.log("a", loss, on_step=False, on_epoch=False)
        elif case == "step_key":
            self.log("step", float(batch_idx * 10))
            self.log("b", loss)
        return loss

    def on_train_epoch_end(self) -> None:
        if self.case == "epoch_end_on_step":
            self.log("b", 1.0, on_step=True)

    def configure_optimizers(self) -> Any:
        if self.case == "in_configure_optimizers":
            self.log("c", 1.0)
        return super().configure_optimizers()


def misuses() -> None:
    cases = (
        "custom_fx",
        "string",
        "vector",
        "dataloader_name",
        "other_options",
        "nowhere",
        "step_key",
        "epoch_end_on_step",
        "in_configure_optimizers",
    )
    for case in cases:
        torch.manual_seed(0)
        model = Misuse()
        model.case = case
        trainer = quiet_trainer(
            max_epochs=1,
            logger=pl.loggers.CSVLogger(".", name=case),
            enable_progress_bar=False,
            limit_train_batches=2,
            limit_val_batches=0,
            log_every_n_steps=1,
            enable_checkpointing=False,
        )
        try:
            trainer.fit(model, datamodule=DataModule())
            T.note(case, sorted(trainer.logged_metrics))
        except Exception as exc:  # the class only: messages differ (plkit names the fix)
            T.note(case, type(exc).__name__)
