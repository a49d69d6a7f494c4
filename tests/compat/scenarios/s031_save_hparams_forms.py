"""save_hyperparameters forms: all args, names, ignore=, a dict, a Namespace; self.hparams, files."""

from argparse import Namespace
from typing import Any

import torch
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class All(Net):
    def __init__(
        self, lr: float = 0.1, layers: int = 2, tag: str = "x", *, flag: bool = True, **extra: Any
    ) -> None:
        super().__init__(lr)
        self.save_hyperparameters()


class Names(Net):
    def __init__(self, lr: float = 0.1, layers: int = 2, tag: str = "x") -> None:
        super().__init__(lr)
        self.save_hyperparameters("layers", "lr")


class Ignore(Net):
    def __init__(self, lr: float = 0.1, layers: int = 2, tag: str = "x") -> None:
        super().__init__(lr)
        self.save_hyperparameters(ignore=["tag"])


class FromDict(Net):
    def __init__(self, config: dict) -> None:
        super().__init__(config["lr"])
        self.save_hyperparameters(config)


class FromNamespace(Net):
    def __init__(self, args: Namespace) -> None:
        super().__init__(args.lr)
        self.save_hyperparameters(args)


class NoLogger(Net):
    def __init__(self, lr: float = 0.1) -> None:
        super().__init__(lr)
        self.save_hyperparameters(logger=False)


def main() -> None:
    models = {
        "all": All(0.2, 3, tag="y", flag=False, extra_one=1),
        "names": Names(0.3),
        "ignore": Ignore(),
        "dict": FromDict({"lr": 0.05, "units": [4, 8], "act": "relu"}),
        "namespace": FromNamespace(Namespace(lr=0.01, batch=16, nested={"a": 1})),
        "nologger": NoLogger(),
    }
    for key, model in models.items():
        T.note(f"{key}_hparams", dict(model.hparams))
        T.note(f"{key}_hparams_initial", dict(model.hparams_initial))
        T.note(f"{key}_type", type(model.hparams).__name__)
        trainer = quiet_trainer(
            max_epochs=1,
            enable_progress_bar=False,
            limit_train_batches=1,
            limit_val_batches=1,
            logger=pl.loggers.CSVLogger(".", name=key),
        )
        torch.manual_seed(0)
        T.fit(trainer, model, datamodule=DataModule())
