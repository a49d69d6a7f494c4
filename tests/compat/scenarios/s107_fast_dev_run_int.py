"""fast_dev_run=3 with a ModelCheckpoint and an EarlyStopping given: three batches of each loop,
the callbacks kept but writing nothing, max_steps and val_check_interval as it sets them."""

from harness import T, pl
from models import DataModule, Flow, Net, flags_of, quiet_trainer


def main() -> None:
    model = Net()
    dm = DataModule(n=128)
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss")
    stop = pl.callbacks.EarlyStopping(monitor="val_loss")
    trainer = quiet_trainer(
        fast_dev_run=3, max_epochs=5, enable_progress_bar=False, callbacks=[Flow(), ckpt, stop]
    )
    T.fit(trainer, model, datamodule=dm)
    T.note("flags", flags_of(trainer))
    T.test(trainer, model, datamodule=dm)
    T.final(model)
