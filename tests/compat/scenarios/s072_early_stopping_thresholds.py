"""EarlyStopping's hard stops: stopping_threshold (mode="max"), divergence_threshold, check_finite
on a NaN; verbose messages and the counters after each. Then a metric that is never logged:
strict=False with verbose warns and skips the check, strict=True raises."""

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Scripted(Net):
    values: list = []

    def validation_step(self, batch, batch_idx):
        self.log("score", torch.tensor(self.values[self.current_epoch]))


def run(label, values, **kwargs):
    torch.manual_seed(0)
    model = type("M", (Scripted,), {"values": values})()
    es = pl.callbacks.EarlyStopping(monitor="score", verbose=True, **kwargs)
    trainer = quiet_trainer(
        max_epochs=6, callbacks=[es], limit_train_batches=1, limit_val_batches=1
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note(
        label,
        {
            "stopped_epoch": es.stopped_epoch,
            "wait_count": es.wait_count,
            "best_score": es.best_score,
            "current_epoch": trainer.current_epoch,
            "should_stop": trainer.should_stop,
            "global_step": trainer.global_step,
        },
    )


def main() -> None:
    run("stopping", [0.1, 0.5, 0.95, 0.99, 1.0, 1.0], mode="max", stopping_threshold=0.9)
    run("divergence", [1.0, 0.5, 7.0, 0.1, 0.1, 0.1], mode="min", divergence_threshold=5.0)
    run("nan", [1.0, 0.5, float("nan"), 0.1, 0.1, 0.1], mode="min", patience=10)
    run("nan_unchecked", [1.0, float("nan"), 0.9, 0.8, 0.7, 0.6], check_finite=False, patience=2)
    torch.manual_seed(0)
    lenient = pl.callbacks.EarlyStopping(monitor="missing", strict=False, verbose=True)
    trainer = quiet_trainer(
        max_epochs=2, callbacks=[lenient], limit_train_batches=1, limit_val_batches=1
    )
    T.fit(trainer, Net(), datamodule=DataModule())
    torch.manual_seed(0)
    strict = pl.callbacks.EarlyStopping(monitor="missing")
    trainer = quiet_trainer(
        max_epochs=2, callbacks=[strict], limit_train_batches=1, limit_val_batches=1
    )
    try:
        T.fit(trainer, Net(), datamodule=DataModule())
    except RuntimeError:
        T.note("strict_raised", True)
