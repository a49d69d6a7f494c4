"""max_steps and max_epochs together: whichever is reached first stops fit (mid-epoch for steps)."""

from harness import T
from models import DataModule, Flow, Net, bare_trainer


def main() -> None:
    model = Net()
    steps_first = bare_trainer(max_epochs=3, max_steps=5, limit_val_batches=1, callbacks=[Flow()])
    T.fit(steps_first, model, datamodule=DataModule())
    epochs_first = bare_trainer(max_epochs=2, max_steps=100, limit_val_batches=1)
    T.fit(epochs_first, model, datamodule=DataModule())
    T.final(model)
