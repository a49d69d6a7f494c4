"""WeightAveraging / EMAWeightAveraging end to end: the average, validation on it, checkpoints."""

from __future__ import annotations

import logging

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import EMAWeightAveraging, ModelCheckpoint, WeightAveraging


class Net(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = torch.nn.Linear(4, 8)
        self.bn = torch.nn.BatchNorm1d(8)
        self.l2 = torch.nn.Linear(8, 1)
        self.val_weights: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(torch.relu(self.bn(self.l1(x))))

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch, batch_idx):
        if batch_idx == 0:
            self.val_weights.append(self.l2.weight.detach().clone())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(1)
    return DataLoader(
        TensorDataset(torch.randn(12, 4, generator=g), torch.randn(12, 1, generator=g)),
        batch_size=4,
    )


class AfterSteps(pl.Callback):
    """Every tensor of the model (parameters and buffers) after each optimizer step."""

    def __init__(self) -> None:
        self.states: list[list[torch.Tensor]] = []
        self.before_val: list[torch.Tensor] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.states.append(
            [t.detach().clone().float() for t in [*pl_module.parameters(), *pl_module.buffers()]]
        )

    def on_validation_start(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self.before_val.append(pl_module.l2.weight.detach().clone())


def _ema(states: list[list[torch.Tensor]], decay: float, first: int = 0) -> list[torch.Tensor]:
    average = [t.clone() for t in states[first]]
    for state in states[first + 1 :]:
        average = [decay * a + (1 - decay) * t for a, t in zip(average, state)]
    return average


def _trainer(tmp_path, *callbacks, **kw) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=kw.pop("max_epochs", 2),
        callbacks=list(callbacks),
        logger=False,
        default_root_dir=tmp_path,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **kw,
    )


def test_ema_final_weights_validation_and_checkpoint(tmp_path):
    torch.manual_seed(0)
    model, rec = Net(), AfterSteps()
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ck", save_last=True)
    ema = EMAWeightAveraging(decay=0.5)
    trainer = _trainer(tmp_path, rec, ema, ckpt)
    trainer.fit(model, _loader(), _loader())
    with pytest.raises(RuntimeError, match="not attached"):  # the copy left the Trainer out
        ema._average_model.module.trainer
    average = _ema(rec.states, 0.5)
    tensors = [*model.parameters(), *model.buffers()]
    for t, e in zip(tensors[:-1], average[:-1]):  # the last buffer is num_batches_tracked (int)
        torch.testing.assert_close(t.detach().float(), e)
    # validation ran on the average of the steps so far, and training went on with its own
    torch.testing.assert_close(model.val_weights[0], _ema(rec.states[:3], 0.5)[4])
    torch.testing.assert_close(rec.before_val[1], rec.states[5][4])
    saved = torch.load(tmp_path / "ck" / "last.ckpt", weights_only=False)
    assert {"current_model_state", "averaging_state"} <= set(saved)
    assert list(saved["state_dict"]) == list(model.state_dict())
    torch.testing.assert_close(saved["state_dict"]["l2.weight"], average[4])
    torch.testing.assert_close(saved["current_model_state"]["l2.weight"], rec.states[-1][4])
    assert int(saved["averaging_state"]["n_averaged"]) == 6
    assert saved["callbacks"]["EMAWeightAveraging"] == {"latest_update_step": 6}


def test_should_update_schedule():
    ema = EMAWeightAveraging(
        update_every_n_steps=2, update_starting_at_step=3, update_starting_at_epoch=1
    )
    assert [ema.should_update(step_idx=i) for i in range(7)] == [False] * 4 + [True, False, True]
    assert [ema.should_update(epoch_idx=i) for i in range(3)] == [False, True, True]
    plain = WeightAveraging()
    assert plain.should_update(step_idx=0) and not plain.should_update(epoch_idx=0)


def test_swa_average_of_every_step(tmp_path):
    torch.manual_seed(0)
    model, rec = Net(), AfterSteps()
    _trainer(tmp_path, rec, WeightAveraging(use_buffers=False), enable_checkpointing=False).fit(
        model, _loader()
    )
    for p, ws in zip(model.parameters(), zip(*rec.states)):
        torch.testing.assert_close(p.detach(), torch.stack(ws).mean(0))


def test_resume_matches_an_uninterrupted_run(tmp_path, caplog):
    def run(ckpt=None, sub="a"):
        torch.manual_seed(0)
        model = Net()
        cb = ModelCheckpoint(dirpath=tmp_path / sub, save_top_k=-1, filename="{epoch}")
        trainer = _trainer(tmp_path, EMAWeightAveraging(decay=0.7), cb, max_epochs=3)
        trainer.fit(model, _loader(), _loader(), ckpt_path=ckpt)
        return model

    full = run()
    with caplog.at_level(logging.INFO):
        resumed = run(str(tmp_path / "a" / "epoch=0.ckpt"), "b")
    assert "Found current_model_state in the checkpoint" in caplog.text
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)


def test_outside_fit_and_foreign_checkpoints(tmp_path, caplog):
    torch.manual_seed(0)
    model = Net()
    _trainer(tmp_path, enable_checkpointing=False, max_epochs=1).fit(model, _loader())
    plain = tmp_path / "plain.ckpt"
    trainer = _trainer(tmp_path, enable_checkpointing=False)
    trainer.fit(model, _loader())
    trainer.save_checkpoint(plain)
    with pytest.warns(UserWarning, match="was not created with WeightAveraging"):
        _trainer(tmp_path, EMAWeightAveraging(), enable_checkpointing=False, max_epochs=3).fit(
            Net(), _loader(), ckpt_path=str(plain)
        )
    with pytest.warns(UserWarning, match="loading a checkpoint outside the 'fit' stage"):
        _trainer(tmp_path, EMAWeightAveraging()).validate(Net(), _loader(), ckpt_path=str(plain))
