"""validate / test with ckpt_path="best" after fit: the file loaded, what is printed, the results."""

from harness import T, pl, recorded, rel
from models import DataModule, Net, quiet_trainer

# Not recorded: wrapping them on the module while a datamodule is passed adds Lightning's
# "overridden in LightningModule" warnings, which are not what this scenario is about.
TRANSFER_HOOKS = ("on_before_batch_transfer", "transfer_batch_to_device", "on_after_batch_transfer")


def main() -> None:
    model = recorded(Net, skip=TRANSFER_HOOKS)(lr=0.05)
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=1)
    trainer = quiet_trainer(max_epochs=3, callbacks=[ckpt], limit_train_batches=2)
    dm = DataModule()
    T.fit(trainer, model, datamodule=dm)
    T.validate(trainer, model, datamodule=dm, ckpt_path="best")
    T.note("validate_ckpt_path", rel(trainer.ckpt_path))
    T.test(trainer, datamodule=dm, ckpt_path="best")
    T.note("test_ckpt_path", rel(trainer.ckpt_path))
    T.test(trainer, datamodule=dm, ckpt_path="last")
    T.note("test_last_ckpt_path", rel(trainer.ckpt_path))
    T.final(model)
