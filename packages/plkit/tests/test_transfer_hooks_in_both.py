"""A batch-transfer hook overridden in both the module and the datamodule: the datamodule's
runs, and Lightning's warning is given once per process, with a profiler or without."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch.utils.data import DataLoader

import plkit as pl
from plkit import _model_setup


class Model(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch).sum()

    def validation_step(self, batch, batch_idx):
        pass

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def on_before_batch_transfer(self, batch, dataloader_idx):
        raise AssertionError("the datamodule's hook runs")

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        raise AssertionError("the datamodule's hook runs")


class Data(pl.LightningDataModule):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def train_dataloader(self):
        return DataLoader(torch.randn(4, 4), batch_size=2)

    def val_dataloader(self):
        return DataLoader(torch.randn(4, 4), batch_size=2)

    def on_before_batch_transfer(self, batch, dataloader_idx):
        self.calls.append("before")
        return batch

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        self.calls.append("move")
        return batch.to(device)


@pytest.mark.parametrize("profiler", [None, "simple"])
def test_warned_once_per_process_with_or_without_a_profiler(profiler, monkeypatch, tmp_path):
    monkeypatch.setattr(_model_setup, "_WARNED_BOTH", set())
    trainer = pl.Trainer(
        default_root_dir=tmp_path,
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        profiler=profiler,
    )
    dm = Data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(Model(), datamodule=dm)
        trainer.validate(Model(), datamodule=dm, verbose=False)
    said = [str(w.message) for w in caught if "in both" in str(w.message)]
    assert said == [
        f"You have overridden `{name}` in both `LightningModule` and `LightningDataModule`. It "
        "will use the implementation from `LightningDataModule` instance."
        for name in ("on_before_batch_transfer", "transfer_batch_to_device")
    ]
    assert dm.calls == ["before", "move"] * 6  # 2 training + 2 validation + 2 validate batches
