"""Several ModelCheckpoint callbacks: trainer.checkpoint_callback(s), their state keys in the file;
one with save_top_k=0 and save_last=True keeps only last.ckpt; two with one state key are an error."""

import torch
from harness import T, pl, rel
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    best = pl.callbacks.ModelCheckpoint(monitor="val_loss", filename="best-{epoch}")
    steps = pl.callbacks.ModelCheckpoint(
        every_n_train_steps=2, filename="step-{step}", save_top_k=-1
    )
    only_last = pl.callbacks.ModelCheckpoint(dirpath="only_last", save_top_k=0, save_last=True)
    trainer = quiet_trainer(max_epochs=2, callbacks=[best, steps, only_last], limit_train_batches=3)
    T.fit(trainer, model, datamodule=DataModule())
    T.note("checkpoint_callbacks", [rel(cb.dirpath) for cb in trainer.checkpoint_callbacks])
    T.note("first_is_best", trainer.checkpoint_callback is best)
    T.note("only_last", [rel(only_last.last_model_path), rel(only_last.best_model_path)])
    ckpt = torch.load(best.best_model_path, map_location="cpu", weights_only=False)
    T.note("callback_keys", list(ckpt["callbacks"]))
    T.note("steps_state", ckpt["callbacks"][steps.state_key])
    T.note("best_state", ckpt["callbacks"][best.state_key])
    try:  # two callbacks whose state would share one key
        quiet_trainer(callbacks=[pl.callbacks.ModelCheckpoint(), pl.callbacks.ModelCheckpoint()])
    except Exception as exc:  # noqa: BLE001
        T.note("duplicate_error", type(exc).__name__)
    T.final(model)
