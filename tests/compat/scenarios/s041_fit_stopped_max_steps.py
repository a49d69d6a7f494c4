"""fit ended by ``max_steps`` in the middle of an epoch: the stop message and the bars' last state."""

from harness import T
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    trainer = quiet_trainer(max_epochs=-1, max_steps=5, limit_val_batches=1)
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
