"""End to end: the built-in callbacks inside a real ``Trainer.fit`` on a tiny model."""

from __future__ import annotations

import csv
import logging
import os

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore.checkpoint import safe_load
from plkit.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, ModelSummary, Timer
from plkit.loggers import CSVLogger


class ScriptedModel(pl.LightningModule):
    """Logs ``val_loss`` from a script, one value per epoch, so the best epoch is known."""

    def __init__(self, val_losses: list[float], lr: float = 0.1, scheduler: bool = False) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(3, 1)
        self.val_losses = val_losses
        self.lr = lr
        self.scheduler = scheduler

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", torch.tensor(self.val_losses[self.current_epoch]))

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr)
        if not self.scheduler:
            return opt
        return {
            "optimizer": opt,
            "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5),
        }


def _loaders(n: int = 8, batch_size: int = 4) -> tuple[DataLoader, DataLoader]:
    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(n, 3, generator=gen), torch.randn(n, 1, generator=gen))
    return DataLoader(data, batch_size=batch_size), DataLoader(data, batch_size=n)


def _trainer(tmp_path, **kwargs) -> pl.Trainer:
    kwargs.setdefault("logger", False)
    return pl.Trainer(
        default_root_dir=str(tmp_path),
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **kwargs,
    )


def test_top_k_files_and_best_path(tmp_path):
    ckpt = ModelCheckpoint(
        monitor="val_loss", save_top_k=2, save_last=True, filename="{epoch}-{val_loss:.1f}"
    )
    trainer = _trainer(tmp_path, max_epochs=5, callbacks=[ckpt])
    trainer.fit(ScriptedModel([3.0, 1.0, 2.0, 4.0, 0.5]), *_loaders())
    dirpath = os.path.join(str(tmp_path), "checkpoints")
    assert ckpt.dirpath == dirpath
    assert sorted(os.listdir(dirpath)) == [
        "epoch=1-val_loss=1.0.ckpt",
        "epoch=4-val_loss=0.5.ckpt",
        "last.ckpt",
    ]
    assert ckpt.best_model_path == os.path.join(dirpath, "epoch=4-val_loss=0.5.ckpt")
    assert float(ckpt.best_model_score) == 0.5
    assert ckpt.last_model_path == os.path.join(dirpath, "last.ckpt")
    saved = safe_load(ckpt.best_model_path)
    assert saved["global_step"] == 10 and saved["epoch"] == 4
    state = saved["callbacks"][ckpt.state_key]
    assert state["best_model_path"] == ckpt.best_model_path
    assert torch.equal(saved["state_dict"]["layer.weight"], trainer.lightning_module.layer.weight)


def test_default_dirpath_follows_the_logger(tmp_path):
    ckpt = ModelCheckpoint()
    trainer = _trainer(tmp_path, max_epochs=1, callbacks=[ckpt], logger=CSVLogger(str(tmp_path)))
    trainer.fit(ScriptedModel([1.0]), *_loaders())
    expected = os.path.join(str(tmp_path), "lightning_logs", "version_0", "checkpoints")
    assert ckpt.dirpath == expected
    assert os.listdir(expected) == ["epoch=0-step=2.ckpt"]


def test_every_n_train_steps(tmp_path):
    ckpt = ModelCheckpoint(every_n_train_steps=3, save_top_k=-1, filename="{step}")
    trainer = _trainer(tmp_path, max_epochs=2, callbacks=[ckpt], limit_val_batches=0)
    trainer.fit(ScriptedModel([1.0, 1.0], scheduler=False), _loaders(n=16)[0])
    names = sorted(os.listdir(os.path.join(str(tmp_path), "checkpoints")))
    assert names == ["step=3.ckpt", "step=6.ckpt"]


def test_resume_keeps_ranking(tmp_path):
    ckpt = ModelCheckpoint(monitor="val_loss", save_top_k=1, save_last=True, filename="{epoch}")
    _trainer(tmp_path, max_epochs=2, callbacks=[ckpt]).fit(
        ScriptedModel([2.0, 1.0, 3.0, 0.5]), *_loaders()
    )
    resumed = ModelCheckpoint(monitor="val_loss", save_top_k=1, save_last=True, filename="{epoch}")
    trainer = _trainer(tmp_path, max_epochs=4, callbacks=[resumed])
    with pytest.warns(UserWarning, match="exists and is not empty"):
        trainer.fit(
            ScriptedModel([2.0, 1.0, 3.0, 0.5]), *_loaders(), ckpt_path=ckpt.last_model_path
        )
    dirpath = os.path.join(str(tmp_path), "checkpoints")
    # epoch 2 (3.0) did not beat the restored best (1.0); epoch 3 (0.5) replaced it
    assert sorted(os.listdir(dirpath)) == ["epoch=3.ckpt", "last.ckpt"]
    assert resumed.best_model_path == os.path.join(dirpath, "epoch=3.ckpt")


def test_early_stopping_stops_at_the_right_epoch(tmp_path):
    stop = EarlyStopping("val_loss", patience=2)
    trainer = _trainer(tmp_path, max_epochs=20, callbacks=[stop])
    trainer.fit(ScriptedModel([5.0, 4.0, 4.5, 4.2, 1.0] + [0.0] * 15), *_loaders())
    # no improvement at epochs 2 and 3 -> stop after epoch 3
    assert stop.stopped_epoch == 3 and stop.wait_count == 2
    assert trainer.global_step == 4 * 2
    assert float(stop.best_score) == 4.0


def test_early_stopping_with_validation_every_other_epoch(tmp_path):
    stop = EarlyStopping("val_loss", patience=1)
    trainer = _trainer(tmp_path, max_epochs=20, callbacks=[stop], check_val_every_n_epoch=2)
    trainer.fit(ScriptedModel([9.0, 5.0, 9.0, 6.0] + [0.0] * 16), *_loaders())
    # checks at epochs 1 (5.0) and 3 (6.0, no improvement): stop after epoch 3
    assert stop.stopped_epoch == 3 and trainer.global_step == 8


def test_lr_monitor_values_in_metrics_csv(tmp_path):
    logger = CSVLogger(str(tmp_path))
    trainer = _trainer(
        tmp_path,
        max_epochs=3,
        logger=logger,
        log_every_n_steps=1,
        callbacks=[LearningRateMonitor()],
        enable_checkpointing=False,
    )
    trainer.fit(ScriptedModel([1.0, 1.0, 1.0], lr=0.4, scheduler=True), *_loaders())
    with open(os.path.join(logger.log_dir, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    lrs = [(int(r["step"]), float(r["lr-SGD"])) for r in rows if r.get("lr-SGD")]
    assert lrs == [(0, 0.4), (2, 0.2), (4, 0.1)]


def test_lr_monitor_without_logger_fails_early(tmp_path):
    trainer = _trainer(tmp_path, max_epochs=1, callbacks=[LearningRateMonitor()])
    with pytest.raises(ValueError, match="has no logger"):
        trainer.fit(ScriptedModel([1.0]), *_loaders())


def test_model_summary_is_logged_once(tmp_path, caplog):
    model = ScriptedModel([1.0])
    model.example_input_array = torch.zeros(2, 3)
    trainer = pl.Trainer(
        default_root_dir=str(tmp_path),
        max_epochs=1,
        logger=False,
        enable_progress_bar=False,
        enable_checkpointing=False,
        callbacks=[ModelSummary(max_depth=-1)],
    )
    with caplog.at_level(logging.INFO, logger="plkit.callbacks.model_summary"):
        trainer.fit(model, *_loaders())
    assert caplog.text.count("Total params") == 1
    assert "| layer | Linear | 4      | train | 12    | [2, 3]   | [2, 1]" in caplog.text


def test_timer_measures_stages(tmp_path):
    timer = Timer()
    trainer = _trainer(tmp_path, max_epochs=2, callbacks=[timer], enable_checkpointing=False)
    trainer.fit(ScriptedModel([1.0, 1.0]), *_loaders())
    assert timer.time_elapsed("train") > timer.time_elapsed("validate") > 0
    assert timer.end_time("train") is not None


def test_timer_with_no_time_left_stops(tmp_path):
    timer = Timer(duration={"seconds": 0})
    trainer = _trainer(tmp_path, max_epochs=5, callbacks=[timer], enable_checkpointing=False)
    trainer.fit(ScriptedModel([1.0] * 5), *_loaders())
    assert trainer.should_stop and trainer.global_step == 0
