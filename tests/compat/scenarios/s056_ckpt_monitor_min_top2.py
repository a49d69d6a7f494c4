"""ModelCheckpoint(monitor="val_loss", save_top_k=2, mode="min", verbose=True): which files remain,
best_k_models, the messages."""

from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net(lr=0.05)
    ckpt = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=2, verbose=True)
    trainer = quiet_trainer(max_epochs=4, callbacks=[ckpt], limit_train_batches=2)
    T.fit(trainer, model, datamodule=DataModule())
    T.note("best_k_models", {rel(k): v for k, v in ckpt.best_k_models.items()})
    T.note("kth_value", ckpt.kth_value)
    T.note("current_score", ckpt.current_score)
    T.final(model)
