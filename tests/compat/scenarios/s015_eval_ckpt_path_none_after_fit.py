"""validate / test / predict after fit with ckpt_path=None: with the model, without it (best weights)."""

from harness import T, pl
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    dm = DataModule()
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=1)
    trainer = quiet_trainer(max_epochs=3, limit_train_batches=2, callbacks=[ckpt])
    T.fit(trainer, model, datamodule=dm)
    T.validate(trainer, model, datamodule=dm)  # the model given: its current weights
    T.validate(trainer, datamodule=dm)  # no model: the best checkpoint of the fit
    T.note("ckpt_path_after_validate", None if trainer.ckpt_path is None else "set")
    T.test(trainer, datamodule=dm)
    T.predict(trainer, datamodule=dm)
    T.test(trainer, datamodule=dm, ckpt_path="last")
    T.final(model)
