"""barebones=True: no logger, checkpoint, progress bar or summary; what runs and what it prints."""

from harness import T, pl
from models import DataModule, Flow, Net, flags_of


def main() -> None:
    model = Net()
    trainer = pl.Trainer(barebones=True, max_epochs=2, limit_train_batches=2, callbacks=[Flow()])
    T.fit(trainer, model, datamodule=DataModule())
    T.note("flags", flags_of(trainer))
    T.test(trainer, model, datamodule=DataModule())
    T.final(model)
