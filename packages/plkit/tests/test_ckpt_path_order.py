"""The checkpoint an entry point loads is chosen before the run sets up (as in Lightning): its
warnings come before the setup-time ones, its errors before any setup hook."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch.utils.data import DataLoader

import plkit as pl


class Model(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.setups = 0

    def setup(self, stage):
        self.setups += 1

    def training_step(self, batch, batch_idx):
        return self.layer(batch).sum()

    def validation_step(self, batch, batch_idx):  # no val_dataloader: a setup-time warning
        pass

    def test_step(self, batch, batch_idx):
        pass

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def make(tmp_path) -> pl.Trainer:
    return pl.Trainer(
        default_root_dir=tmp_path,
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def test_the_no_last_checkpoint_warning_comes_before_the_val_loop_warning(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make(tmp_path).fit(Model(), DataLoader(torch.randn(4, 2), batch_size=2), ckpt_path="last")
    said = [str(w.message) for w in caught]
    last = next(i for i, m in enumerate(said) if "no last checkpoint available" in m)
    val = next(i for i, m in enumerate(said) if "Skipping val loop" in m)
    assert last < val


def test_a_bad_ckpt_path_fails_before_the_setup_hooks(tmp_path):
    model = Model()
    with pytest.raises(ValueError, match='ckpt_path="best"'):
        make(tmp_path).test(model, DataLoader(torch.randn(4, 2), batch_size=2), ckpt_path="best")
    assert model.setups == 0
