"""Entry points as Lightning runs them: when loaders are requested, what steps receive, the state."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl


def loader(n: int = 8, bs: int = 4, seed: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    data = TensorDataset(torch.randn(n, 3, generator=g), torch.randn(n, 1, generator=g))
    return DataLoader(data, batch_size=bs)


def trainer(**kwargs) -> pl.Trainer:
    options = dict(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    options.update(kwargs)
    return pl.Trainer(**options)


class Base(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(3, 1)
        self.events: list[str] = []

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        return nn.functional.mse_loss(self(batch[0]), batch[1])

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", nn.functional.mse_loss(self(batch[0]), batch[1]))

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        return self(batch[0])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Loaders(Base):
    def train_dataloader(self):
        self.events.append("train_dataloader")
        return loader()

    def val_dataloader(self):
        self.events.append("val_dataloader")
        return loader(seed=1)

    def on_train_start(self):
        self.events.append("on_train_start")


class Events(pl.Callback):
    def __init__(self, model: Loaders) -> None:
        self.model = model

    def on_sanity_check_start(self, trainer, pl_module):
        self.model.events.append("on_sanity_check_start")

    def on_sanity_check_end(self, trainer, pl_module):
        self.model.events.append("on_sanity_check_end")


@pytest.mark.parametrize(
    ("sanity", "expected"),
    [
        (
            2,
            [
                "on_sanity_check_start",
                "val_dataloader",
                "on_sanity_check_end",
                "train_dataloader",
                "on_train_start",
            ],
        ),
        (0, ["train_dataloader", "val_dataloader", "on_train_start"]),
    ],
)
def test_loaders_are_requested_when_lightning_requests_them(sanity, expected):
    model = Loaders()
    trainer(num_sanity_val_steps=sanity, callbacks=[Events(model)]).fit(model)
    assert model.events == expected


def test_each_entry_point_requests_its_loaders_afresh():
    model = Loaders()
    t = trainer()
    t.fit(model)
    assert t.train_dataloader is not None
    t.validate(model)
    assert t.train_dataloader is None
    model.events.clear()
    assert t.estimated_stepping_batches == 2
    assert model.events == ["train_dataloader"]


def test_steps_get_only_the_arguments_their_signature_takes():
    seen = []

    class Short(Base):
        def training_step(self, batch):
            seen.append("train")
            return super().training_step(batch, 0)

        def validation_step(self, batch):
            seen.append("val")

        def predict_step(self, batch):
            seen.append("predict")
            return self(batch[0])

    model = Short()
    t = trainer(num_sanity_val_steps=0)
    t.fit(model, loader(), loader())
    assert len(t.predict(model, loader())) == 2
    assert seen == ["train", "train", "val", "val", "predict", "predict"]
    with pytest.raises(RuntimeError, match="dataloader_idx"):
        t.validate(Base(), [loader(), loader()])


def test_removed_epoch_end_hooks_are_refused():
    class Old(Base):
        def validation_epoch_end(self, outputs):
            pass

    t = trainer()
    with pytest.raises(NotImplementedError, match="validation_epoch_end"):
        t.validate(Old(), loader())
    assert t.state.status == "interrupted" and t.state.stage is None


def test_state_and_metrics_after_each_entry_point():
    model = Base()
    t = trainer()
    t.fit(model, loader(), loader())
    assert "val_loss" in t.callback_metrics
    t.predict(model, loader())
    assert t.callback_metrics == {}
    assert (t.state.fn, t.state.stage, t.state.status) == ("predict", None, "finished")
    assert model.training  # predict puts the module back in its mode


def test_zero_grad_hooks_get_the_torch_optimizer():
    got = []

    class M(Base):
        def on_before_zero_grad(self, optimizer):
            got.append(type(optimizer))

    trainer(limit_train_batches=1).fit(M(), loader())
    assert got == [torch.optim.SGD]
