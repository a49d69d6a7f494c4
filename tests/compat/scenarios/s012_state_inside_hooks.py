"""trainer.state (fn, status, stage) and the stage flags, as hooks see them in every entry point."""

from typing import Any

from harness import T, pl
from models import DataModule, Net, quiet_trainer

HOOKS = (
    "setup",
    "on_fit_start",
    "on_sanity_check_start",
    "on_validation_start",
    "on_validation_batch_start",
    "on_sanity_check_end",
    "on_train_start",
    "on_train_epoch_start",
    "on_train_batch_start",
    "on_train_epoch_end",
    "on_train_end",
    "on_fit_end",
    "on_test_start",
    "on_test_batch_start",
    "on_predict_start",
    "on_predict_batch_start",
    "on_validation_end",
    "on_test_end",
    "on_predict_end",
    "teardown",
)


def snapshot(trainer: Any) -> dict[str, Any]:
    s = trainer.state
    out = {
        "fn": getattr(s.fn, "value", s.fn),
        "status": getattr(s.status, "value", s.status),
        "stage": getattr(s.stage, "value", s.stage),
    }
    for flag in ("training", "sanity_checking", "validating", "testing", "predicting"):
        out[flag] = getattr(trainer, flag)
    out["module_training"] = trainer.lightning_module.training
    return out


def _make(name: str) -> Any:
    def hook(self: Any, trainer: Any, *args: Any, **kwargs: Any) -> None:
        T.hook("state", name, **snapshot(trainer))

    return hook


StateCallback = type("StateCallback", (pl.Callback,), {h: _make(h) for h in HOOKS})


def main() -> None:
    model, dm = Net(), DataModule()
    trainer = quiet_trainer(
        callbacks=[StateCallback()],
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=1,
        limit_test_batches=1,
        limit_predict_batches=1,
        num_sanity_val_steps=1,
    )
    T.note("before_fit", snapshot_before(trainer))
    T.fit(trainer, model, datamodule=dm)
    T.validate(trainer, model, datamodule=dm)
    T.test(trainer, model, datamodule=dm)
    T.predict(trainer, model, datamodule=dm)


def snapshot_before(trainer: Any) -> dict[str, Any]:
    s = trainer.state
    return {
        "fn": getattr(s.fn, "value", s.fn),
        "status": getattr(s.status, "value", s.status),
        "stage": getattr(s.stage, "value", s.stage),
        "training": trainer.training,
        "sanity_checking": trainer.sanity_checking,
    }
