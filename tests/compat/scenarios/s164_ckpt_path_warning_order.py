"""fit(ckpt_path="last") without a last checkpoint, and a resume from a checkpoint whose
callbacks are missing: the order of the warnings against the setup-time ones."""

from typing import Any

import torch
from harness import T, pl
from torch.utils.data import DataLoader


class NoValData(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch).sum()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        pass

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def trainer(**kwargs: Any) -> Any:
    return pl.Trainer(
        max_epochs=kwargs.pop("max_epochs", 1),
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def main() -> None:
    torch.manual_seed(0)
    data = DataLoader(torch.randn(4, 2), batch_size=2)
    T.fit(trainer(), NoValData(), data, ckpt_path="last")
    saver = trainer(callbacks=[pl.callbacks.ModelCheckpoint(dirpath="ck", filename="saved")])
    saver.callbacks.append(pl.callbacks.Timer())
    T.fit(saver, NoValData(), data)
    T.fit(trainer(max_epochs=2), NoValData(), data, ckpt_path="ck/saved.ckpt")
