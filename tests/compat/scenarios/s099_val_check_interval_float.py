"""val_check_interval=0.5: validation twice per epoch (8 batches), and an int interval within
the epoch (val_check_interval=3 with check_val_every_n_epoch=1)."""

from harness import T
from models import DataModule, Flow, Net, bare_trainer, flags_of


def main() -> None:
    model = Net()
    trainer = bare_trainer(
        max_epochs=2, val_check_interval=0.5, limit_val_batches=1, callbacks=[Flow()]
    )
    T.fit(trainer, model, datamodule=DataModule(n=128))
    T.note("flags_half", flags_of(trainer))
    other = bare_trainer(
        max_epochs=1, val_check_interval=3, limit_val_batches=1, callbacks=[Flow()]
    )
    T.fit(other, model, datamodule=DataModule(n=128))
    T.note("flags_int", flags_of(other))
    T.final(model)
