"""LambdaCallback: every hook it takes, given as a function, is called with the hook's arguments,
in Lightning's order (fit with validation, validate, test, predict; an exception)."""

from harness import T, light, pl
from models import DataModule, Net, quiet_trainer

HOOKS = [
    "setup", "teardown", "on_fit_start", "on_fit_end", "on_sanity_check_start",
    "on_sanity_check_end", "on_train_batch_start", "on_train_batch_end", "on_train_epoch_start",
    "on_train_epoch_end", "on_validation_epoch_start", "on_validation_epoch_end",
    "on_test_epoch_start", "on_test_epoch_end", "on_validation_batch_start",
    "on_validation_batch_end", "on_test_batch_start", "on_test_batch_end", "on_train_start",
    "on_train_end", "on_validation_start", "on_validation_end", "on_test_start", "on_test_end",
    "on_exception", "on_save_checkpoint", "on_load_checkpoint", "on_before_backward",
    "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad", "on_predict_start",
    "on_predict_end", "on_predict_batch_start", "on_predict_batch_end",
    "on_predict_epoch_start", "on_predict_epoch_end",
]  # fmt: skip


def recorder(name):
    def hook(trainer, pl_module, *args, **kwargs):
        T.hook(
            "lambda",
            name,
            args=[_arg(a) for a in args],
            kwargs={k: _arg(v) for k, v in kwargs.items()},
        )

    return hook


def _arg(value):
    if isinstance(value, dict) and "state_dict" in value:
        return "checkpoint"
    if isinstance(value, BaseException):
        return type(value).__name__
    if isinstance(value, (str, int)) or value is None:
        return value
    return type(value).__name__ if not hasattr(value, "shape") else light(value.shape)


class Fails(Net):
    def training_step(self, batch, batch_idx):
        raise ValueError("stop")


def main() -> None:
    cb = pl.callbacks.LambdaCallback(**{name: recorder(name) for name in HOOKS})
    T.note("attributes", sorted(k for k in vars(cb) if k in HOOKS))
    trainer = quiet_trainer(
        max_epochs=1, limit_train_batches=2, limit_val_batches=1, num_sanity_val_steps=1,
        limit_test_batches=1, limit_predict_batches=1, callbacks=[cb], logger=False,
        enable_progress_bar=False,
    )  # fmt: skip
    dm = DataModule()
    models = [Net() for _ in range(4)]  # made first: the loops draw from the RNG differently
    T.fit(trainer, models[0], datamodule=dm)
    T.validate(trainer, models[1], datamodule=dm, verbose=False)
    T.test(trainer, models[2], datamodule=dm, verbose=False)
    T.predict(trainer, models[3], datamodule=dm)
    only = pl.callbacks.LambdaCallback(on_fit_start=recorder("only_fit_start"))
    T.note("only", sorted(k for k in vars(only) if k in HOOKS))
    failing = quiet_trainer(
        max_epochs=1, callbacks=[cb, only], logger=False, enable_progress_bar=False
    )
    try:
        failing.fit(Fails(), datamodule=dm)
    except ValueError as exc:
        T.note("raised", str(exc))
