"""``lightning.pytorch.demos.boring_classes``: a minimal model and random data, to subclass.

They behave as Lightning's do (same layers, losses, optimizer and data shapes, drawing the same
random numbers in the same order), so a test written against them gives the same numbers::

    from plkit.demos.boring_classes import BoringModel

    class MyModel(BoringModel):
        def training_step(self, batch, batch_idx): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, IterableDataset, Subset

from plcore import LightningDataModule, LightningModule

__all__ = [
    "BoringDataModule",
    "BoringModel",
    "DemoModel",
    "ManualOptimBoringModel",
    "RandomDataset",
    "RandomDictDataset",
    "RandomIterableDataset",
    "RandomIterableDatasetWithLen",
]


class RandomDataset(Dataset):
    """``length`` samples of ``size`` standard-normal features, drawn when it is built."""

    def __init__(self, size: int, length: int) -> None:
        self.len = length
        self.data = torch.randn(length, size)

    def __getitem__(self, index: int) -> Tensor:
        return self.data[index]

    def __len__(self) -> int:
        return self.len


class RandomDictDataset(Dataset):
    """Like :class:`RandomDataset`, each sample a dict ``{"a": x, "b": x + 2}``."""

    def __init__(self, size: int, length: int) -> None:
        self.len = length
        self.data = torch.randn(length, size)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        sample = self.data[index]
        return {"a": sample, "b": sample + 2}

    def __len__(self) -> int:
        return self.len


class RandomIterableDataset(IterableDataset):
    """``count`` fresh random samples of ``size`` features per iteration, without a length."""

    def __init__(self, size: int, count: int) -> None:
        self.count = count
        self.size = size

    def __iter__(self) -> Iterator[Tensor]:
        for _ in range(self.count):
            yield torch.randn(self.size)


class RandomIterableDatasetWithLen(RandomIterableDataset):
    """:class:`RandomIterableDataset` that also has a ``len``."""

    def __len__(self) -> int:
        return self.count


def _random_loader() -> DataLoader:
    return DataLoader(RandomDataset(32, 64))


class BoringModel(LightningModule):
    """A ``Linear(32, 2)`` pulled towards ones by an MSE loss, with every step and loader.

    Subclass it and override what a test is about; the rest works: SGD (lr 0.1) with a StepLR
    stepped each epoch, and loaders of 64 random samples (batch size 1).
    """

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(32, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)

    def loss(self, preds: Tensor, labels: Tensor | None = None) -> Tensor:
        """MSE against ``labels`` (ones when None)."""
        target = torch.ones_like(preds) if labels is None else labels
        return torch.nn.functional.mse_loss(preds, target)

    def step(self, batch: Any) -> Tensor:
        """The loss of one batch."""
        return self.loss(self(batch))

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return {"loss": self.step(batch)}

    def validation_step(self, batch: Any, batch_idx: int) -> Any:
        return {"x": self.step(batch)}

    def test_step(self, batch: Any, batch_idx: int) -> Any:
        return {"y": self.step(batch)}

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
        return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)]

    def train_dataloader(self) -> DataLoader:
        return _random_loader()

    def val_dataloader(self) -> DataLoader:
        return _random_loader()

    def test_dataloader(self) -> DataLoader:
        return _random_loader()

    def predict_dataloader(self) -> DataLoader:
        return _random_loader()


class ManualOptimBoringModel(BoringModel):
    """:class:`BoringModel` under manual optimization (one optimizer, stepped each batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        optimizer = self.optimizers()
        loss = self.step(batch)
        optimizer.zero_grad()
        self.manual_backward(loss)
        optimizer.step()
        return loss


class BoringDataModule(LightningDataModule):
    """256 random samples of 32 features, split in four: train, val, test, predict (64 each)."""

    def __init__(self) -> None:
        super().__init__()
        self.random_full = RandomDataset(32, 64 * 4)

    def setup(self, stage: str) -> None:
        if stage == "fit":
            self.random_train = Subset(self.random_full, indices=range(64))
        if stage in ("fit", "validate"):
            self.random_val = Subset(self.random_full, indices=range(64, 128))
        if stage == "test":
            self.random_test = Subset(self.random_full, indices=range(128, 192))
        if stage == "predict":
            self.random_predict = Subset(self.random_full, indices=range(192, 256))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.random_train)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.random_val)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.random_test)

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(self.random_predict)


class DemoModel(LightningModule):
    """``relu(Linear(32, out_dim))`` trained to shrink its output's sum, with Adam."""

    def __init__(self, out_dim: int = 10, learning_rate: float = 0.02) -> None:
        super().__init__()
        self.l1 = torch.nn.Linear(32, out_dim)
        self.learning_rate = learning_rate

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.l1(x.view(x.size(0), -1)))

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return self(batch).sum()

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.parameters(), lr=self.learning_rate)
