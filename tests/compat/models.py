"""Small models and data shared by the scenarios, written against ``harness.pl`` as a user would."""

from __future__ import annotations

from typing import Any

import torch
from harness import pl
from torch.utils.data import DataLoader, Dataset, TensorDataset


class RandomDataset(Dataset):
    """``length`` samples of ``size`` features, fixed by ``seed``."""

    def __init__(self, size: int = 8, length: int = 64, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.data = torch.randn(length, size, generator=generator)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.data[index]


def regression_data(n: int = 64, seed: int = 0) -> TensorDataset:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=generator)
    y = x @ torch.linspace(-1, 1, 8).unsqueeze(1) + 0.1 * torch.randn(n, 1, generator=generator)
    return TensorDataset(x, y)


def loader(n: int = 64, batch_size: int = 16, seed: int = 0, **kwargs: Any) -> DataLoader:
    return DataLoader(regression_data(n, seed), batch_size=batch_size, **kwargs)


class Net(pl.LightningModule):
    """A linear regressor that logs its losses, with every step method."""

    def __init__(self, lr: float = 0.1) -> None:
        super().__init__()
        self.lr = lr
        self.layer = torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)

    def loss(self, batch: Any) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = self.loss(batch)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", self.loss(batch))

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test_loss", self.loss(batch))

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        return self(batch[0])

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.lr)


class DataModule(pl.LightningDataModule):
    """Train, val, test and predict loaders over the regression data."""

    def __init__(self, batch_size: int = 16, n: int = 64) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.n = n

    def setup(self, stage: str) -> None:
        self.train = regression_data(self.n, 0)
        self.val = regression_data(self.n // 2, 1)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train, batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=self.batch_size)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=self.batch_size)

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=self.batch_size)


def quiet_trainer(**kwargs: Any) -> Any:
    """A Trainer with the options most scenarios hold fixed (override any of them)."""
    options: dict[str, Any] = {"max_epochs": 2, "enable_model_summary": False}
    options.update(kwargs)
    return pl.Trainer(**options)
