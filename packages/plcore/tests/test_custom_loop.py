"""plcore alone: a loop of your own drives a LightningModule and saves / loads checkpoints.

This file runs in the isolated ``nox -s plcore`` session, where only torch, numpy and plcore are
installed, so it proves that the core works without the Trainer.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from plcore import LightningDataModule, LightningModule
from plcore.checkpoint import TorchCheckpointIO, atomic_save, safe_load


class Regressor(LightningModule):
    def __init__(self, hidden: int = 8, lr: float = 0.1):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


class Data(LightningDataModule):
    def setup(self, stage):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(64, 3, generator=g)
        self.data = TensorDataset(x, x.sum(1, keepdim=True))

    def train_dataloader(self):
        return DataLoader(self.data, batch_size=16)


def test_a_custom_loop_trains_saves_and_reloads(tmp_path):
    torch.manual_seed(0)
    model, data = Regressor(hidden=8), Data()
    data.setup("fit")
    optimizer = model.configure_optimizers()
    losses = []
    for _epoch in range(20):
        for batch_idx, batch in enumerate(data.train_dataloader()):
            loss = model.training_step(batch, batch_idx)
            optimizer.zero_grad()
            model.backward(loss)
            optimizer.step()
            losses.append(loss.item())
    assert losses[-1] < losses[0] / 4  # it learned

    path = tmp_path / "model.ckpt"
    atomic_save(
        {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "optimizer_states": [optimizer.state_dict()],
        },
        path,
    )
    assert torch.load(path, weights_only=True)["hyper_parameters"] == {"hidden": 8, "lr": 0.1}

    restored = Regressor.load_from_checkpoint(path)
    assert restored.hparams.hidden == 8
    for key, value in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value)

    io = TorchCheckpointIO()
    io.save_checkpoint(safe_load(path), tmp_path / "copy.ckpt")
    assert set(io.load_checkpoint(tmp_path / "copy.ckpt")) == {
        "state_dict",
        "hyper_parameters",
        "optimizer_states",
    }


def test_the_module_works_without_a_trainer():
    model = Regressor()
    assert model.current_epoch == 0 and model.global_step == 0 and model.logger is None
    batch = (torch.zeros(2, 3), torch.zeros(2, 1))
    assert model.training_step(batch, 0).ndim == 0
