"""LightningModule.load_from_checkpoint: hparams restored, an overridden kwarg, map_location,
strict=False with an extra key; the datamodule's load_from_checkpoint."""

import torch
from harness import T, recorded
from models import DataModule, Net, quiet_trainer


class HNet(Net):
    def __init__(self, lr: float = 0.1, width: int = 8, tag: str = "a") -> None:
        super().__init__(lr)
        self.save_hyperparameters()


class HDM(DataModule):
    def __init__(self, batch_size: int = 16, n: int = 64) -> None:
        super().__init__(batch_size, n)
        self.save_hyperparameters()


class Bigger(HNet):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.extra = torch.nn.Linear(2, 2)


def main() -> None:
    model = HNet(lr=0.05, tag="b")
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    T.fit(trainer, model, datamodule=HDM(batch_size=8))
    path = trainer.checkpoint_callback.best_model_path
    loaded = recorded(HNet).load_from_checkpoint(path)
    T.note("hparams", dict(loaded.hparams))
    T.note("lr", loaded.lr)
    T.note("training", loaded.training)
    T.note("same_weights", torch.equal(loaded.layer.weight, model.layer.weight))
    over = HNet.load_from_checkpoint(path, map_location="cpu", lr=0.5)
    T.note("override_hparams", dict(over.hparams))
    T.note("override_lr", over.lr)
    T.note("device", str(over.layer.weight.device))
    loose = Bigger.load_from_checkpoint(path, strict=False)
    T.note("loose_hparams", dict(loose.hparams))
    try:
        Bigger.load_from_checkpoint(path)
    except Exception as exc:  # noqa: BLE001
        T.note("strict_error", type(exc).__name__)
    dm = HDM.load_from_checkpoint(path)
    T.note("dm_hparams", dict(dm.hparams))
    T.note("dm_batch_size", dm.batch_size)
    T.final(loaded)
