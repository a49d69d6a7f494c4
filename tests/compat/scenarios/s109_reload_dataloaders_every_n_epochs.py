"""reload_dataloaders_every_n_epochs=2 over 5 epochs: when the datamodule's loader hooks run again."""

from harness import T, recorded
from models import DataModule, Flow, Net, bare_trainer, flags_of


def main() -> None:
    model = Net()
    dm = recorded(DataModule, label="dm")()
    trainer = bare_trainer(
        max_epochs=5,
        reload_dataloaders_every_n_epochs=2,
        limit_train_batches=1,
        limit_val_batches=1,
        callbacks=[Flow()],
    )
    T.fit(trainer, model, datamodule=dm)
    T.note("flags", flags_of(trainer))
    T.final(model)
