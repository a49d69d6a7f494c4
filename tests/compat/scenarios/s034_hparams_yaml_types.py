"""hparams.yaml for plain value types and an enum: the text written, and what loads back."""

import enum
from typing import Any

import yaml
from harness import T, pl
from models import DataModule, Net, quiet_trainer


class Color(enum.Enum):
    RED = "red"


class Typed(Net):
    def __init__(
        self,
        lr: float = 1e-05,
        big: float = 1e20,
        inf: float = float("inf"),
        none: Any = None,
        words: str = "yes",
        empty: str = "",
        colon: str = "a: b",
        numstr: str = "1.5",
        items: list = [1, 2.5, "x"],  # noqa: B006
        nested: dict = {"z": 1, "a": {"deep": [True, None]}},  # noqa: B006
        flag: bool = False,
        color: Any = Color.RED,
        multiline: str = "line1\nline2",
        unicode: str = "café",
    ) -> None:
        super().__init__(lr)
        self.save_hyperparameters()


def main() -> None:
    model = Typed()
    logger = pl.loggers.CSVLogger(".")
    trainer = quiet_trainer(
        max_epochs=1,
        enable_progress_bar=False,
        limit_train_batches=1,
        limit_val_batches=0,
        logger=logger,
    )
    T.fit(trainer, model, datamodule=DataModule())
    with open(f"{logger.log_dir}/hparams.yaml") as handle:
        T.note("safe_loaded", {k: repr(v) for k, v in (yaml.safe_load(handle) or {}).items()})
    T.note("hparams", {k: repr(v) for k, v in model.hparams.items()})
