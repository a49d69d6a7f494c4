"""What a checkpoint holds: hparams (module and datamodule), a scheduler, the loops' layout, the
version key, the datamodule's state, on_save_checkpoint additions."""

import torch
from harness import T
from models import DataModule, Net, quiet_trainer


class HNet(Net):
    def __init__(self, lr: float = 0.1, width: int = 8) -> None:
        super().__init__(lr)
        self.save_hyperparameters()

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)
        return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)}

    def on_save_checkpoint(self, checkpoint):
        checkpoint["extra"] = 7


class HDM(DataModule):
    def __init__(self, batch_size: int = 16, n: int = 64) -> None:
        super().__init__(batch_size, n)
        self.save_hyperparameters()

    def state_dict(self):
        return {"seen": 3}


def keys(value, depth=0):
    """The nested keys of a dict (leaves as their type names)."""
    if isinstance(value, dict) and depth < 6:
        return {str(k): keys(v, depth + 1) for k, v in value.items()}
    return type(value).__name__


def main() -> None:
    model = HNet(lr=0.05)
    trainer = quiet_trainer(max_epochs=2, limit_train_batches=2, limit_val_batches=1)
    T.fit(trainer, model, datamodule=HDM(batch_size=8))
    ckpt = torch.load(trainer.checkpoint_callback.best_model_path, weights_only=False)
    T.note("keys", list(ckpt))
    T.note("version", ckpt.get("pytorch-lightning_version"))
    T.note("loops", keys(ckpt.get("loops")))
    T.note("lr_schedulers", ckpt["lr_schedulers"])
    T.note("optimizer_param_groups", ckpt["optimizer_states"][0]["param_groups"])
    T.note("hyper_parameters", dict(ckpt["hyper_parameters"]))
    T.note("hparams_type", type(ckpt["hyper_parameters"]).__name__)
    T.note("datamodule_hyper_parameters", dict(ckpt["datamodule_hyper_parameters"]))
    T.note("dm_state", ckpt.get("HDM"))
    T.note("extra", ckpt.get("extra"))
    T.final(model)
