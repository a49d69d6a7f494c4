"""StochasticWeightAveraging end to end: the average, SWALR, the BatchNorm epoch, resume."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.utilities.exceptions import MisconfigurationException
from plkit.callbacks import ModelCheckpoint, StochasticWeightAveraging


class Net(pl.LightningModule):
    def __init__(self, bn: bool = False) -> None:
        super().__init__()
        self.l1 = torch.nn.Linear(4, 8)
        self.bn = torch.nn.BatchNorm1d(8) if bn else torch.nn.Identity()
        self.l2 = torch.nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(torch.relu(self.bn(self.l1(x))))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)]


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(1)
    return DataLoader(
        TensorDataset(torch.randn(12, 4, generator=g), torch.randn(12, 1, generator=g)),
        batch_size=4,
    )


class Snapshots(pl.Callback):
    """The parameters at each epoch start (before SWA folds them in), lrs, hooks seen."""

    def __init__(self) -> None:
        self.params: list[list[torch.Tensor]] = []
        self.lrs: list[float] = []
        self.schedulers: list[str] = []
        self.max_epochs: list[int] = []
        self.backwards = 0
        self.first_batch: list[torch.Tensor] | None = None

    def on_train_epoch_start(self, trainer, pl_module):
        self.params.append([p.detach().clone() for p in pl_module.parameters()])
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])
        self.schedulers.append(type(trainer.lr_scheduler_configs[0].scheduler).__name__)
        self.max_epochs.append(trainer.max_epochs)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == len(self.params) - 1 and batch_idx == 0:
            self.first_batch = [p.detach().clone() for p in pl_module.parameters()]

    def on_before_backward(self, trainer, pl_module, loss):
        self.backwards += 1


def _fit(model: Net, *callbacks: pl.Callback, max_epochs: int = 4, **kw) -> pl.Trainer:
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        callbacks=list(callbacks),
        logger=False,
        enable_checkpointing=any(isinstance(c, ModelCheckpoint) for c in callbacks),
        enable_progress_bar=False,
        enable_model_summary=False,
        **kw,
    )
    trainer.fit(model, _loader())
    return trainer


def test_final_weights_are_the_average_of_the_swa_epochs(caplog):
    torch.manual_seed(0)
    model, snaps = Net(), Snapshots()
    swa = StochasticWeightAveraging(swa_lrs=0.05, swa_epoch_start=2, annealing_epochs=2)
    with caplog.at_level("INFO"):
        trainer = _fit(model, snaps, swa)
    # averaged: the weights at the start of epochs 1, 2, 3 (Lightning folds them in there)
    expected = [torch.stack(ws).mean(0) for ws in zip(*snaps.params[1:4])]
    for p, e in zip(model.parameters(), expected):
        torch.testing.assert_close(p.detach(), e)
    # (seen before SWA's own on_train_epoch_start: the swap shows from epoch 2 on)
    assert snaps.schedulers == ["StepLR", "StepLR", "SWALR", "SWALR"]
    assert snaps.lrs == [0.1, 0.05, 0.05, 0.05]
    assert "Swapping scheduler `StepLR` for `SWALR`" in caplog.text
    assert (trainer.current_epoch, trainer.global_step, trainer.max_epochs) == (4, 12, 4)
    assert int(swa.n_averaged) == 3
    with pytest.raises(RuntimeError, match="not attached"):  # the copy left the Trainer out
        swa._average_model.trainer
    state = swa.state_dict()
    assert state["n_averaged"] == 3 and state["latest_update_epoch"] == 3
    assert sorted(state["average_model_state"]) == sorted(model.state_dict())


def test_batch_norm_epoch():
    torch.manual_seed(0)
    model, snaps = Net(bn=True), Snapshots()
    swa = StochasticWeightAveraging(swa_lrs=0.05, swa_epoch_start=2, annealing_epochs=2)
    trainer = _fit(model, snaps, swa)
    # one more epoch, without backward, whose last batch still steps the optimizer
    assert snaps.max_epochs == [5] * 5 and trainer.max_epochs == 4
    assert (trainer.current_epoch, trainer.global_step) == (5, 13)
    assert snaps.backwards == 12
    assert trainer.accumulate_grad_batches == 1 and trainer.num_training_batches == 3
    expected = [torch.stack(ws).mean(0) for ws in zip(*snaps.params[1:4])]
    for p, e in zip(snaps.first_batch, expected):
        torch.testing.assert_close(p, e)
    # the statistics are those of the averaged model over one pass of the data
    check = Net(bn=True)
    for p, w in zip(check.parameters(), snaps.first_batch):
        p.data.copy_(w)
    torch.optim.swa_utils.update_bn(((x,) for x, _ in _loader()), check)
    torch.testing.assert_close(model.bn.running_mean, check.bn.running_mean)
    torch.testing.assert_close(model.bn.running_var, check.bn.running_var)
    assert model.bn.momentum == 0.1 and int(model.bn.num_batches_tracked) == 3


def test_resume_matches_an_uninterrupted_run(tmp_path):
    def run(ckpt=None, sub="a"):
        torch.manual_seed(0)
        model = Net(bn=True)
        ckpt_cb = ModelCheckpoint(dirpath=tmp_path / sub, save_top_k=-1, filename="{epoch}")
        swa = StochasticWeightAveraging(swa_lrs=0.05, swa_epoch_start=2, annealing_epochs=2)
        trainer = pl.Trainer(
            max_epochs=4,
            callbacks=[swa, ckpt_cb],
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(model, _loader(), ckpt_path=ckpt)
        return trainer, model

    full_trainer, full = run()
    resumed_trainer, resumed = run(str(tmp_path / "a" / "epoch=2.ckpt"), "b")
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)
    assert resumed_trainer.global_step == full_trainer.global_step == 13
    saved = torch.load(tmp_path / "a" / "epoch=2.ckpt", weights_only=False)
    state = saved["callbacks"]["StochasticWeightAveraging"]
    assert sorted(state) == [
        "average_model_state",
        "latest_update_epoch",
        "n_averaged",
        "scheduler_state",
    ]
    assert state["n_averaged"] == 2 and state["scheduler_state"]["base_lrs"] == [0.05]


def test_errors():
    for kwargs, match in [
        ({"swa_lrs": 0.1, "swa_epoch_start": 0}, "swa_epoch_start should be"),
        ({"swa_lrs": 0.1, "swa_epoch_start": 1.5}, "swa_epoch_start should be"),
        ({"swa_lrs": -0.1}, "positive float"),
        ({"swa_lrs": [0.1, 1]}, "positive float"),
        ({"swa_lrs": 0.1, "avg_fn": 3}, "should be callable"),
        ({"swa_lrs": 0.1, "device": 1}, "torch.device or a str"),
    ]:
        with pytest.raises(MisconfigurationException, match=match):
            StochasticWeightAveraging(**kwargs)

    class Two(Net):
        def configure_optimizers(self):
            return [
                torch.optim.SGD(self.l1.parameters(), lr=0.1),
                torch.optim.SGD(self.l2.parameters(), lr=0.1),
            ]

        def training_step(self, batch, batch_idx):
            return None

    two = Two()
    two.automatic_optimization = False
    with pytest.raises(MisconfigurationException, match="SWA currently works with 1 `optimizer`"):
        _fit(two, StochasticWeightAveraging(swa_lrs=0.1))
    with pytest.raises(MisconfigurationException, match="max_epochs=-1"):
        _fit(Net(), StochasticWeightAveraging(swa_lrs=0.1), max_epochs=-1, max_steps=3)
