"""The console of a default fit: the lines printed when the Trainer is built and when fit ends
(``max_epochs`` reached), on which stream, and the sanity-check / training / validation bars."""

from harness import T
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    trainer = quiet_trainer(max_epochs=2, limit_train_batches=3, limit_val_batches=2)
    T.fit(trainer, model, datamodule=DataModule())
    T.final(model)
