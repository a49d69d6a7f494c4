"""Small models and data shared by the scenarios, written against ``harness.pl`` as a user would."""

from __future__ import annotations

from typing import Any

import torch
from harness import T, pl
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


# -- area E (optimization, precision, exceptions, module paths) ---------------------------------


def bare_trainer(**kwargs: Any) -> Any:
    """``quiet_trainer`` without logger, checkpointing or progress bar: only the numbers differ."""
    options: dict[str, Any] = {
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
    }
    options.update(kwargs)
    return quiet_trainer(**options)


def lrs(trainer: Any) -> list[list[float]]:
    """Every optimizer's learning rates (one list per optimizer), as a user reads them."""
    return [[group["lr"] for group in opt.param_groups] for opt in trainer.optimizers]


def caught(fn: Any) -> Any:
    """Run ``fn()``; the class and catchable classes of what it raised (None: it did not)."""
    from harness import exception_info

    try:
        fn()
    except Exception as exc:  # the scenario records which class, not the message
        return exception_info(exc)
    return None


# -- area F (Trainer flags, DDP on CPU) --------------------------------------------------------


class Flow(pl.Callback):
    """Records which batches run and when, compactly: the loop, epoch, batch index, global step."""

    def _rec(self, trainer: Any, what: str, batch_idx: int | None = None) -> None:
        T.hook(
            "flow",
            what,
            epoch=trainer.current_epoch,
            batch_idx=batch_idx,
            step=trainer.global_step,
        )

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        self._rec(trainer, "train", batch_idx)

    def on_validation_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._rec(trainer, "sanity" if trainer.sanity_checking else "val", batch_idx)

    def on_test_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._rec(trainer, "test", batch_idx)

    def on_predict_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._rec(trainer, "predict", batch_idx)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._rec(trainer, "train_epoch_end")


def flags_of(trainer: Any) -> dict[str, Any]:
    """The flag-valued properties a user reads off a Trainer (beyond ``T.fit``'s state)."""
    out: dict[str, Any] = {}
    for name in (
        "limit_train_batches",
        "limit_val_batches",
        "limit_test_batches",
        "limit_predict_batches",
        "overfit_batches",
        "num_sanity_val_steps",
        "fast_dev_run",
        "reload_dataloaders_every_n_epochs",
        "val_check_batch",
        "enable_validation",
        "num_nodes",
        "node_rank",
        "local_rank",
        "device_ids",
        "is_global_zero",
        "barebones",
    ):
        try:
            value = getattr(trainer, name)
        except Exception as exc:  # a property that raises is recorded as such
            value = {"raises": type(exc).__name__}
        out[name] = value
    out["accelerator"] = type(trainer.accelerator).__name__
    out["strategy"] = type(trainer.strategy).__name__
    return out


# -- LightningCLI (s135-s139) -------------------------------------------------------------------


class ScaledNet(Net):
    """Net whose output is scaled, saving its hyper-parameters (a subclass for ``class_path``).

    Args:
        scale: multiplies the prediction.
        lr: the SGD learning rate.
    """

    def __init__(self, scale: float = 1.0, lr: float = 0.1) -> None:
        super().__init__(lr=lr)
        self.save_hyperparameters()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x) * self.scale


# -- entry-point errors (s169, s170) -----------------------------------------------------------


def tiny_data() -> DataLoader:
    return DataLoader(torch.randn(4, 2), batch_size=2)


class EveryStep(pl.LightningModule):
    """A module with every step method and every loader hook (4 samples of 2 features)."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch).sum()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val", self.layer(batch).sum())

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test", self.layer(batch).sum())

    def predict_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch)

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self) -> Any:
        return tiny_data()

    def val_dataloader(self) -> Any:
        return tiny_data()

    def test_dataloader(self) -> Any:
        return tiny_data()

    def predict_dataloader(self) -> Any:
        return tiny_data()


class NoTrainingStep(EveryStep):
    training_step = pl.LightningModule.training_step


def attempt(name: str, trainer: Any, fn: str, *args: Any, **kwargs: Any) -> None:
    """Run ``trainer.<fn>`` (recorded as an entry point); note what it raised, and its message."""
    try:
        getattr(T, fn)(trainer, *args, **kwargs)
    except Exception as exc:
        T.note(name, [type(exc).__name__, str(exc)])
    else:
        T.note(name, None)
