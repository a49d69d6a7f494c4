"""Classes, functions, tuples and paths as hyper-parameters: fit runs; hparams.yaml; loading back."""

import pathlib
from typing import Any

import torch
from harness import T, pl
from models import DataModule, quiet_trainer


class Encoded(pl.LightningModule):
    def __init__(
        self,
        encoder_class: type = torch.nn.Linear,
        activation: Any = torch.tanh,
        width: int = 4,
        shape: tuple = (2, 3),
        data: Any = pathlib.PurePosixPath("data/train"),
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.encoder = encoder_class(8, width)
        self.head = torch.nn.Linear(width, 1)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.activation(self.encoder(x)))

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _name(value: Any) -> str:
    return getattr(value, "__name__", None) or repr(value)


def main() -> None:
    model = Encoded(activation=torch.relu, width=3)
    T.note("hparams", {k: _name(v) for k, v in model.hparams.items()})
    trainer = quiet_trainer(
        max_epochs=1,
        enable_progress_bar=False,
        limit_train_batches=2,
        limit_val_batches=1,
        logger=pl.loggers.CSVLogger("."),
    )
    T.fit(trainer, model, datamodule=DataModule())
    path = trainer.checkpoint_callback.best_model_path
    try:  # Lightning: torch.load(weights_only=True) refuses the pickled class and function
        loaded = Encoded.load_from_checkpoint(path)
    except Exception as exc:
        T.note("load_error", type(exc).__name__)
        return
    T.note("loaded_hparams", {k: _name(v) for k, v in loaded.hparams.items()})
    T.note("loaded_activation_is_relu", loaded.activation is torch.relu)
    T.note("loaded_encoder", type(loaded.encoder).__name__)
    x = torch.linspace(-1, 1, 16).reshape(2, 8)
    T.note("same_output", torch.allclose(loaded(x), model(x)))
