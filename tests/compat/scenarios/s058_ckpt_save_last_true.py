"""ModelCheckpoint(monitor, save_top_k=1, save_last=True): last.ckpt is a full checkpoint, rewritten
at every epoch end, even when the top-1 file is not; last_model_path."""

import torch
from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


class Worse(Net):
    """The validation loss grows after epoch 0, so the top-1 file stays epoch 0's."""

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", torch.tensor(1.0 + self.current_epoch))


def main() -> None:
    model = Worse()
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_last=True, verbose=True)
    trainer = quiet_trainer(max_epochs=3, callbacks=[ckpt], limit_train_batches=2)
    T.fit(trainer, model, datamodule=DataModule())
    last = torch.load(ckpt.last_model_path, map_location="cpu", weights_only=False)
    T.note("last_epoch", last["epoch"])
    T.note("last_global_step", last["global_step"])
    T.note("last_model_path", rel(ckpt.last_model_path))
    T.note("CHECKPOINT_NAME_LAST", ckpt.CHECKPOINT_NAME_LAST)
    T.final(model)
