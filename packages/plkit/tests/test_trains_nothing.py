"""A fit that trains nothing says so: every training_step returned None, or the optimizer holds
none of the module's parameters (an empty training loader: Lightning's warning, compat s118)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl


class Model(pl.LightningModule):
    def __init__(self, skip_all: bool = False, foreign: bool = False) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.skip_all, self.foreign = skip_all, foreign

    def training_step(self, batch, batch_idx):
        loss = self.layer(batch[0]).pow(2).mean()
        return None if self.skip_all else loss

    def configure_optimizers(self):
        params = [nn.Parameter(torch.zeros(3))] if self.foreign else self.parameters()
        return torch.optim.SGD(params, lr=0.1)


def _fit(model: Model, tmp_path) -> None:
    trainer = pl.Trainer(
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, DataLoader(TensorDataset(torch.randn(16, 2)), batch_size=4))


def test_every_step_returning_none_warns_per_epoch(tmp_path):
    with pytest.warns(UserWarning, match="None for every batch of epoch 0 \\(4 batches\\)"):
        _fit(Model(skip_all=True), tmp_path)


def test_an_optimizer_without_the_modules_parameters_warns(tmp_path):
    before = [p.clone() for p in Model().parameters()]
    with pytest.warns(UserWarning, match="none of them this module's"):
        model = Model(foreign=True)
        torch.manual_seed(0)
        _fit(model, tmp_path)
    assert before  # the model itself is untouched by its optimizer


def test_a_normal_fit_warns_of_neither(tmp_path, recwarn):
    _fit(Model(), tmp_path)
    texts = [str(w.message) for w in recwarn]
    assert not any("nothing was trained" in t or "this module's" in t for t in texts)
