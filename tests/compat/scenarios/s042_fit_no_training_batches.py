"""fit with ``limit_train_batches=0``: training is skipped without a stop message (only the sanity
check runs), and what the console and the trainer show after it."""

from harness import T
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    trainer = quiet_trainer(max_epochs=2, limit_train_batches=0, limit_val_batches=1)
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
