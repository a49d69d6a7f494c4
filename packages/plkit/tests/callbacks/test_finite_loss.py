"""NonFiniteLossCheck: a NaN loss stops fit with a clear error; no checkpoint after it."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import ModelCheckpoint, NonFiniteLossCheck, NonFiniteLossError


class Model(pl.LightningModule):
    def __init__(self, bad_step: int | None = None) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.bad_step = bad_step

    def training_step(self, batch, batch_idx):
        loss = self.layer(batch[0]).pow(2).mean()
        if self.global_step == self.bad_step:
            loss = loss * math.nan
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _loader() -> DataLoader:
    return DataLoader(TensorDataset(torch.randn(40, 2)), batch_size=4)


def _trainer(tmp_path, *callbacks, **kw) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=2,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        callbacks=list(callbacks),
        **kw,
    )


def test_a_nan_loss_stops_fit_naming_the_steps(tmp_path):
    trainer = _trainer(tmp_path, NonFiniteLossCheck(every_n_steps=5), enable_checkpointing=False)
    with pytest.raises(NonFiniteLossError, match="after step 5 and up to step 10"):
        trainer.fit(Model(bad_step=7), _loader())
    assert trainer.global_step == 10  # stopped at the first check after the bad step
    assert trainer.interrupted


def test_no_checkpoint_is_written_after_a_nan_loss(tmp_path):
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpts", every_n_train_steps=3, save_top_k=-1)
    trainer = _trainer(tmp_path, NonFiniteLossCheck(every_n_steps=100), ckpt)
    with pytest.raises(NonFiniteLossError):
        trainer.fit(Model(bad_step=4), _loader())
    names = sorted(p.name for p in (tmp_path / "ckpts").iterdir())
    assert names == ["epoch=0-step=3.ckpt"]  # step 6's save found the NaN and wrote nothing
    weights = torch.load(tmp_path / "ckpts" / names[0], weights_only=True)["state_dict"]
    assert all(torch.isfinite(v).all() for v in weights.values())


def test_finite_losses_train_as_without_the_check(tmp_path):
    torch.manual_seed(0)
    plain = Model()
    _trainer(tmp_path, enable_checkpointing=False).fit(plain, _loader())
    torch.manual_seed(0)
    checked = Model()
    _trainer(tmp_path, NonFiniteLossCheck(every_n_steps=3), enable_checkpointing=False).fit(
        checked, _loader()
    )
    for a, b in zip(plain.parameters(), checked.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_interval_is_refused(bad):
    with pytest.raises(ValueError, match="must be a positive int"):
        NonFiniteLossCheck(every_n_steps=bad)
