"""BaseFinetuning helpers and BackboneFinetuning end to end (groups, lrs, logs, resume)."""

from __future__ import annotations

import logging

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.utilities.exceptions import MisconfigurationException
from plkit.callbacks import BackboneFinetuning, BaseFinetuning, ModelCheckpoint


class Net(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU()
        )
        self.head = torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self):
        params = filter(lambda p: p.requires_grad, self.parameters())
        return torch.optim.SGD(params, lr=0.1)


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(1)
    return DataLoader(
        TensorDataset(torch.randn(8, 4, generator=g), torch.randn(8, 1, generator=g)), batch_size=4
    )


class Groups(pl.Callback):
    def __init__(self) -> None:
        self.seen: list[list[tuple[int, float]]] = []

    def on_train_epoch_start(self, trainer, pl_module):
        groups = trainer.optimizers[0].param_groups
        self.seen.append([(len(g["params"]), round(g["lr"], 10)) for g in groups])


def _fit(model, *callbacks, max_epochs=5, ckpt_path=None, **kw) -> pl.Trainer:
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        callbacks=list(callbacks),
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=kw.pop("enable_checkpointing", False),
        **kw,
    )
    trainer.fit(model, _loader(), ckpt_path=ckpt_path)
    return trainer


def test_backbone_unfrozen_at_its_epoch_with_growing_lr(caplog):
    torch.manual_seed(0)
    model, groups = Net(), Groups()
    frozen = model.backbone[0].weight.detach().clone()
    cb = BackboneFinetuning(unfreeze_backbone_at_epoch=2, lambda_func=lambda e: 4.0, verbose=True)
    with caplog.at_level(logging.INFO, logger="plkit.callbacks.finetuning"):
        with pytest.warns(UserWarning, match="already exist within another group"):
            _fit(model, cb, groups)
    # head + the BatchNorm (train_bn: never frozen), then the Linear at 0.1 * lr, x4, capped
    assert groups.seen == [
        [(4, 0.1)],
        [(4, 0.1)],
        [(4, 0.1), (2, 0.01)],
        [(4, 0.1), (2, 0.04)],
        [(4, 0.1), (2, 0.1)],
    ]
    assert "Current lr: 0.1, Backbone lr: 0.01" in caplog.text
    assert "Current lr: 0.1, Backbone lr: 0.04" in caplog.text
    assert not torch.equal(model.backbone[0].weight, frozen)
    state = cb.state_dict()
    assert state["previous_backbone_lr"] == 0.1
    assert state["internal_optimizer_metadata"][0][1]["params"] == [
        "backbone.0.weight",
        "backbone.0.bias",
    ]


def test_backbone_stays_frozen_before_its_epoch():
    torch.manual_seed(0)
    model = Net()
    frozen = model.backbone[0].weight.detach().clone()
    _fit(model, BackboneFinetuning(unfreeze_backbone_at_epoch=10), max_epochs=2)
    assert torch.equal(model.backbone[0].weight, frozen)
    assert not model.backbone[0].weight.requires_grad


def test_no_backbone_is_an_error():
    class NoBackbone(Net):
        def __init__(self) -> None:
            super().__init__()
            del self.backbone
            self.body = torch.nn.Linear(4, 8)

        def forward(self, x):
            return self.head(self.body(x))

    with pytest.raises(AttributeError):  # freeze_before_training in setup, as in Lightning
        _fit(NoBackbone(), BackboneFinetuning())

    model = Net()  # a backbone that is no module: on_fit_start says what is wrong
    cb = BackboneFinetuning()
    cb.freeze_before_training = lambda pl_module: None  # type: ignore[method-assign]
    model.backbone = None  # type: ignore[assignment]
    with pytest.raises(MisconfigurationException, match="should have a nn.Module `backbone`"):
        _fit(model, cb)


def test_resume_trains_the_unfrozen_backbone(tmp_path):
    def run(ckpt=None, sub="a"):
        torch.manual_seed(0)
        model = Net()
        cb = ModelCheckpoint(dirpath=tmp_path / sub, save_top_k=-1, filename="{epoch}")
        fine = BackboneFinetuning(unfreeze_backbone_at_epoch=1, lambda_func=lambda e: 1.5)
        _fit(model, fine, cb, max_epochs=4, ckpt_path=ckpt, enable_checkpointing=True)
        return model

    with pytest.warns(UserWarning):
        full = run()
        resumed = run(str(tmp_path / "a" / "epoch=1.ckpt"), "b")
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)


def test_helpers():
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 1))
    )
    flat = BaseFinetuning.flatten_modules(net)
    assert [type(m).__name__ for m in flat] == ["Linear", "BatchNorm1d", "Linear"]
    assert BaseFinetuning.flatten_modules(torch.nn.ModuleDict({"a": net[0]})) == [net[0]]
    BaseFinetuning.freeze(net, train_bn=True)
    assert [p.requires_grad for p in net.parameters()] == [False, False, True, True, False, False]
    BaseFinetuning.freeze(net, train_bn=False)
    assert not any(p.requires_grad for p in net.parameters())
    assert net[1][0].track_running_stats is False
    assert list(BaseFinetuning.filter_params(net, requires_grad=False))[0] is net[0].weight
    BaseFinetuning.make_trainable([net[0], [net[1]]])
    assert all(p.requires_grad for p in net.parameters()) and net[1][0].track_running_stats
    assert len(list(BaseFinetuning.filter_params(net, train_bn=False))) == 4

    BaseFinetuning.freeze(net[1], train_bn=False)
    opt = torch.optim.SGD(net[0].parameters(), lr=0.5)
    BaseFinetuning.unfreeze_and_add_param_group(net[1], opt, train_bn=False)
    assert [len(g["params"]) for g in opt.param_groups] == [2, 2]
    assert opt.param_groups[1]["lr"] == 0.05  # lr / initial_denom_lr
    with pytest.warns(UserWarning, match="already exist within another group"):
        BaseFinetuning.unfreeze_and_add_param_group(net[1], opt, lr=0.3)
    assert [len(g["params"]) for g in opt.param_groups] == [2, 2, 2]
    assert opt.param_groups[2]["lr"] == 0.3  # the BatchNorm's, given lr


def test_base_hooks_must_be_overridden():
    with pytest.raises(NotImplementedError):
        BaseFinetuning().freeze_before_training(Net())
    with pytest.raises(NotImplementedError):
        BaseFinetuning().finetune_function(Net(), 0, torch.optim.SGD(Net().parameters(), lr=1))
    old = BaseFinetuning()
    old.load_state_dict({0: [{"lr": 0.1, "params": ["head.weight"]}]})  # the older layout
    assert old.state_dict() == {
        "internal_optimizer_metadata": {0: [{"lr": 0.1, "params": ["head.weight"]}]}
    }
