"""fit(ckpt_path=<epoch-end file>): hooks on resume (on_load_checkpoint, callback load_state_dict),
counters after, what is printed, and the weights match an uninterrupted run's."""

from harness import RecordingCallback, T, pl, recorded
from models import DataModule, Net, quiet_trainer

# Not recorded: wrapping them on the module while a datamodule is passed adds Lightning's
# "overridden in LightningModule" warnings, which are not what this scenario is about.
TRANSFER_HOOKS = ("on_before_batch_transfer", "transfer_batch_to_device", "on_after_batch_transfer")


def main() -> None:
    first = Net()
    ckpt = pl.callbacks.ModelCheckpoint(dirpath="ckpts", save_top_k=-1)
    trainer = quiet_trainer(
        max_epochs=2, callbacks=[ckpt], limit_train_batches=2, limit_val_batches=1
    )
    T.fit(trainer, first, datamodule=DataModule())
    path = "ckpts/epoch=0-step=2.ckpt"
    model = recorded(Net, skip=TRANSFER_HOOKS)()
    resumed = quiet_trainer(
        max_epochs=3,
        callbacks=[pl.callbacks.ModelCheckpoint(dirpath="ckpts2"), RecordingCallback()],
        limit_train_batches=2,
        limit_val_batches=1,
    )
    T.fit(resumed, model, datamodule=DataModule(), ckpt_path=path)
    T.note("ckpt_path", resumed.ckpt_path)
    T.final(model)
