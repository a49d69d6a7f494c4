"""EMAWeightAveraging: validation on the average, final weights, what a checkpoint holds."""

from typing import Any

import torch
from harness import T, pl
from models import Net, bare_trainer, loader


class Probe(pl.Callback):
    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        T.hook("probe", "val_weights", sanity=trainer.sanity_checking, w=pl_module.layer.weight)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        T.hook("probe", "train_weights", w=pl_module.layer.weight)


def main() -> None:
    torch.manual_seed(0)
    model = Net()
    ema = pl.callbacks.EMAWeightAveraging(decay=0.8, update_starting_at_step=2)
    last = pl.callbacks.ModelCheckpoint(dirpath="ckpts", save_last=True, monitor="val_loss")
    trainer = bare_trainer(
        max_epochs=3, enable_checkpointing=True, limit_val_batches=2, callbacks=[ema, Probe(), last]
    )
    T.fit(trainer, model, loader(64, 16), loader(32, seed=1))
    saved = torch.load("ckpts/last.ckpt", weights_only=False)
    T.note("current_model_state", saved["current_model_state"])
    T.note("averaging_state", saved["averaging_state"])
    T.note("ema_state", ema.state_dict())
    T.final(model)
