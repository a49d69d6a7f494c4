"""check_val_every_n_epoch=2 over 5 epochs: which epochs validate; the sanity check still runs."""

from harness import T
from models import DataModule, Flow, Net, bare_trainer, flags_of


def main() -> None:
    model = Net()
    trainer = bare_trainer(
        max_epochs=5,
        check_val_every_n_epoch=2,
        limit_train_batches=2,
        limit_val_batches=1,
        callbacks=[Flow()],
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note("flags", flags_of(trainer))
    T.final(model)
