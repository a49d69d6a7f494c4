"""Trainer(plugins=[AsyncCheckpointIO()]): fit writes the same checkpoints as with the default
synchronous writer, and they are all complete when fit returns."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.checkpoint import safe_load
from plkit.callbacks import ModelCheckpoint
from plkit.plugins import AsyncCheckpointIO


class _Model(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Linear(3, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.1)


def _fit(root, plugins):
    torch.manual_seed(1)
    data = TensorDataset(torch.randn(16, 3), torch.randn(16, 1))
    trainer = pl.Trainer(
        max_epochs=3,
        accelerator="cpu",
        default_root_dir=root,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        plugins=plugins,
        callbacks=[ModelCheckpoint(dirpath=root / "ckpts", save_top_k=-1, save_last=True)],
    )
    trainer.fit(_Model(), DataLoader(data, batch_size=4))
    return sorted(p.name for p in (root / "ckpts").iterdir())


def test_async_fit_writes_the_synchronous_checkpoints(tmp_path):
    sync_files = _fit(tmp_path / "sync", None)
    async_files = _fit(tmp_path / "async", [AsyncCheckpointIO()])
    assert (
        async_files
        == sync_files
        == [
            "epoch=0-step=4.ckpt",
            "epoch=1-step=8.ckpt",
            "epoch=2-step=12.ckpt",
            "last.ckpt",
        ]
    )
    for name in sync_files:
        a = safe_load(tmp_path / "async" / "ckpts" / name)
        b = safe_load(tmp_path / "sync" / "ckpts" / name)
        assert a["global_step"] == b["global_step"] and a["loops"].keys() == b["loops"].keys()
        for key, value in b["state_dict"].items():
            torch.testing.assert_close(a["state_dict"][key], value, rtol=0, atol=0)
        for index, state in b["optimizer_states"][0]["state"].items():
            for field, value in state.items():
                torch.testing.assert_close(
                    a["optimizer_states"][0]["state"][index][field], value, rtol=0, atol=0
                )
