"""Which exception class each bad Trainer flag raises (class and what an except can catch).

The package's INFO lines are silenced: this is about the exceptions, not about which Trainer
printed its device lines before failing (Lightning checks some flags after printing them).
"""

import logging

from harness import T, pl
from models import caught


def main() -> None:
    logging.getLogger(pl.__name__).setLevel(logging.WARNING)
    cases = {
        "accelerator_unknown": dict(accelerator="tpu9"),
        "devices_zero": dict(devices=0),
        "devices_negative": dict(devices=-2),
        "strategy_unknown": dict(strategy="nonsense"),
        "max_epochs_negative": dict(max_epochs=-5),
        "val_check_interval_float_big": dict(val_check_interval=1.5),
        "limit_train_batches_negative": dict(limit_train_batches=-1),
        "accumulate_zero": dict(accumulate_grad_batches=0),
        "clip_algorithm_bad": dict(gradient_clip_val=1.0, gradient_clip_algorithm="median"),
        "log_every_negative": dict(log_every_n_steps=-1),
        "check_val_zero": dict(check_val_every_n_epoch=0),
        "callbacks_not_callback": dict(callbacks=[object()]),
    }
    for name, kwargs in cases.items():
        T.note(name, caught(lambda kw=kwargs: pl.Trainer(logger=False, **kw)))
