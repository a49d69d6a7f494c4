"""val_check_interval=3 with check_val_every_n_epoch=None: validation every 3 training batches,
counted across epoch boundaries (4 batches per epoch)."""

from harness import T
from models import DataModule, Flow, Net, bare_trainer, flags_of


def main() -> None:
    model = Net()
    trainer = bare_trainer(
        max_epochs=3,
        val_check_interval=3,
        check_val_every_n_epoch=None,
        limit_val_batches=1,
        callbacks=[Flow()],
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note("flags", flags_of(trainer))
    T.final(model)
