"""A resumed fit calls on_fit_start before the optimizer, scheduler and loop states are restored,
as Lightning does: callbacks rebuild parameter groups or replace schedulers there, and the
model summary prints before "Restored all states"."""

from __future__ import annotations

import logging

import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl


class Net(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=0.1)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)]


class SeesFitStart(pl.Callback):
    def on_fit_start(self, trainer, pl_module):
        opt = trainer.optimizers[0]
        self.seen = (trainer.global_step, trainer.current_epoch, len(opt.state))
        # a parameter group added here is there when the optimizer state is loaded
        opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.0})


def _loader() -> DataLoader:
    return DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=4)


def test_on_fit_start_before_the_training_state(tmp_path, caplog):
    first = pl.Trainer(
        max_epochs=1, logger=False, enable_progress_bar=False, default_root_dir=tmp_path
    )
    model = Net()
    first.fit(model, _loader())
    opt = first.optimizers[0]
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.0})
    first.save_checkpoint(tmp_path / "two_groups.ckpt")

    seen = SeesFitStart()
    trainer = pl.Trainer(
        max_epochs=2,
        logger=False,
        enable_progress_bar=False,
        callbacks=[seen],
        default_root_dir=tmp_path,
    )
    with caplog.at_level(logging.INFO):
        trainer.fit(Net(), _loader(), ckpt_path=str(tmp_path / "two_groups.ckpt"))
    assert seen.seen == (0, 0, 0)  # nothing restored yet
    assert trainer.global_step == 4
    text = caplog.text
    assert text.index("Trainable params") < text.index("Restored all states")


def test_resume_without_the_checkpoint_callbacks_warns(tmp_path):
    import pytest

    from plkit.callbacks import EMAWeightAveraging

    first = pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        default_root_dir=tmp_path,
        enable_checkpointing=False,
        callbacks=[EMAWeightAveraging()],
    )
    first.fit(Net(), _loader())
    first.save_checkpoint(tmp_path / "ema.ckpt")
    again = pl.Trainer(
        max_epochs=2,
        logger=False,
        enable_progress_bar=False,
        default_root_dir=tmp_path,
        enable_checkpointing=False,
    )
    with pytest.warns(
        UserWarning, match=r"Please add the following callbacks: \['EMAWeightAveraging'\]"
    ):
        again.fit(Net(), _loader(), ckpt_path=str(tmp_path / "ema.ckpt"))
