"""Timer(duration=0 s, interval="step") stops fit after the first step; Timer's state keys and the
methods a user calls (values of time are not recorded, only their types)."""

from datetime import timedelta

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    timer = pl.callbacks.Timer(duration=timedelta(seconds=0), interval="step")
    trainer = quiet_trainer(
        max_epochs=3, callbacks=[timer], limit_train_batches=4, limit_val_batches=1
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note("state_keys", sorted(timer.state_dict()))
    T.note("time_elapsed_type", type(timer.time_elapsed("train")).__name__)
    T.note("time_remaining_type", type(timer.time_remaining("train")).__name__)
    T.note("start_time_type", type(timer.start_time("validate")).__name__)
    T.note("end_time_type", type(timer.end_time("train")).__name__)
    T.note("duration", timer._duration)
    big = pl.callbacks.Timer(duration="00:01:00:00", interval="epoch")
    trainer2 = quiet_trainer(
        max_epochs=2, callbacks=[big], limit_train_batches=2, limit_val_batches=1
    )
    torch.manual_seed(1)
    T.fit(trainer2, Net(), datamodule=DataModule())
    T.note("big_duration", big._duration)
    T.note("big_remaining_positive", big.time_remaining() > 0)
    T.final(model)
