"""Default ModelCheckpoint (no monitor): one file epoch=N-step=M.ckpt, rewritten each epoch end.

Also shows what a default checkpoint holds: top-level keys, epoch / global_step counters, the
callback state key of ModelCheckpoint, optimizer states.
"""

import os

import torch
from harness import T, rel
from models import DataModule, Net, quiet_trainer


def main() -> None:
    model = Net()
    trainer = quiet_trainer(max_epochs=3, limit_train_batches=2, limit_val_batches=1)
    T.fit(trainer, model, datamodule=DataModule())
    cb = trainer.checkpoint_callback
    T.note("callback_type", type(cb).__name__)
    T.note("state_key", cb.state_key)
    T.note("filename", cb.filename)
    T.note("monitor", cb.monitor)
    ckpt = torch.load(cb.best_model_path, map_location="cpu", weights_only=False)
    T.note("checkpoint_callback_state", ckpt["callbacks"][cb.state_key])
    T.note("best_model_path_is_file", os.path.isfile(cb.best_model_path))
    T.note("dirpath", rel(cb.dirpath))
    T.final(model)
