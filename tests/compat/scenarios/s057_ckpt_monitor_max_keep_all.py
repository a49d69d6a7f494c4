"""ModelCheckpoint(monitor=..., mode="max", save_top_k=-1, filename="{epoch}-{val_loss:.2f}")."""

import torch
from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


class NegNet(Net):
    """Logs the negated validation loss, so that higher is better."""

    def validation_step(self, batch, batch_idx):
        loss = self.loss(batch)
        self.log("val_loss", loss)
        self.log("val_score", -loss)


def main() -> None:
    torch.manual_seed(1)
    model = NegNet(lr=0.05)
    ckpt = pl.callbacks.ModelCheckpoint(
        monitor="val_score", mode="max", save_top_k=-1, filename="{epoch}-{val_loss:.2f}"
    )
    trainer = quiet_trainer(max_epochs=3, callbacks=[ckpt], limit_train_batches=2)
    T.fit(trainer, model, datamodule=DataModule())
    T.note("best_k_models", {rel(k): v for k, v in ckpt.best_k_models.items()})
    T.note("kth_value", ckpt.kth_value)
    T.note("mode", ckpt.mode)
    T.final(model)
