"""An nn.Module passed to __init__ and saved as a hyper-parameter: the warning, the checkpoint."""

from typing import Any

import torch
from harness import T, pl
from models import DataModule, quiet_trainer


class Wrapper(pl.LightningModule):
    def __init__(self, backbone: torch.nn.Module, lr: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


class Ignored(pl.LightningModule):
    def __init__(self, backbone: torch.nn.Module, lr: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["backbone"])
        self.backbone = backbone

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        return torch.nn.functional.mse_loss(self.backbone(x), y)

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def main() -> None:
    model = Wrapper(torch.nn.Linear(8, 1))
    T.note("keys", sorted(model.hparams))
    trainer = quiet_trainer(
        max_epochs=1,
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=0,
        logger=pl.loggers.CSVLogger("."),
    )
    T.fit(trainer, model, datamodule=DataModule())
    path = trainer.checkpoint_callback.best_model_path
    try:  # Lightning: torch.load(weights_only=True) refuses the pickled module
        loaded = Wrapper.load_from_checkpoint(path)
        T.note("loaded_keys", sorted(loaded.hparams))
    except Exception as exc:
        T.note("load_error", type(exc).__name__)
    try:
        loaded = Wrapper.load_from_checkpoint(path, backbone=torch.nn.Linear(8, 1))
        T.note("loaded_with_backbone", type(loaded.backbone).__name__)
    except Exception as exc:
        T.note("load_with_backbone_error", type(exc).__name__)
    model2 = Ignored(torch.nn.Linear(8, 1))
    T.note("ignored_keys", sorted(model2.hparams))
    trainer = quiet_trainer(
        max_epochs=1,
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=0,
        logger=pl.loggers.CSVLogger(".", name="ign"),
    )
    torch.manual_seed(0)
    T.fit(trainer, model2, datamodule=DataModule())
    loaded2 = Ignored.load_from_checkpoint(
        trainer.checkpoint_callback.best_model_path, backbone=torch.nn.Linear(8, 1)
    )
    T.final(loaded2)
