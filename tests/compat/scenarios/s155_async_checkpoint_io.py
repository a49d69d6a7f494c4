"""Trainer(plugins=[AsyncCheckpointIO()]) with ModelCheckpoint(save_top_k=2, save_last=True):
the files written, their contents and which remain, as with the synchronous writer."""

from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net(lr=0.05)
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=2, save_last=True)
    trainer = quiet_trainer(
        max_epochs=4,
        callbacks=[ckpt],
        limit_train_batches=2,
        plugins=[pl.plugins.AsyncCheckpointIO()],
    )
    T.fit(trainer, model, datamodule=DataModule())
    T.note("best_k_models", {rel(k): v for k, v in ckpt.best_k_models.items()})
    T.note("last_model_path", rel(ckpt.last_model_path))
    T.final(model)
