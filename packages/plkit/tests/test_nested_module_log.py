"""A LightningModule nested in the one being fitted shares its Trainer (as in Lightning), so
its ``self.log`` outside the Trainer's hooks is an error instead of being dropped."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

import plkit as pl
from plkit.utilities.exceptions import MisconfigurationException


class Child(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def forward(self, x):
        out = self.layer(x)
        self.log("child_metric", out.sum())
        return out


class Parent(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.child = Child()
        self.seen: list[object] = []

    def training_step(self, batch, batch_idx):
        self.seen.append(self.child.trainer)
        return self.child(batch).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_a_nested_module_logging_fails_the_fit():
    trainer = pl.Trainer(
        max_steps=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    model = Parent()
    with pytest.raises(MisconfigurationException, match="outside the Trainer's loops"):
        trainer.fit(model, DataLoader(torch.randn(4, 2), batch_size=2))
    assert model.seen == [trainer]


def test_a_detached_module_only_warns():
    with pytest.warns(UserWarning, match="not attached to a trainer"):
        Child()(torch.randn(1, 2))
