"""max_epochs=None (the default) with and without max_steps, and max_epochs=-1 with max_steps:
the resolved limits, estimated_stepping_batches and where fit stops."""

from harness import T
from models import DataModule, Net, bare_trainer


def main() -> None:
    model = Net()
    default = bare_trainer(max_epochs=None, limit_train_batches=1, limit_val_batches=0)
    T.note("default_before_fit", {"max_epochs": default.max_epochs, "max_steps": default.max_steps})
    T.fit(default, model, datamodule=DataModule())
    with_steps = bare_trainer(max_epochs=None, max_steps=6, limit_val_batches=0)
    T.note("with_steps_before_fit", {"max_epochs": with_steps.max_epochs})
    T.fit(with_steps, model, datamodule=DataModule())
    unlimited = bare_trainer(max_epochs=-1, max_steps=3, limit_val_batches=0)
    T.fit(unlimited, model, datamodule=DataModule())
    T.final(model)
