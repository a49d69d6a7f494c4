"""What a user reads of the Trainer and, from inside the module, of the run."""

from __future__ import annotations

import importlib.util
import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar, TQDMProgressBar


def loader(n=8, bs=2):
    g = torch.Generator().manual_seed(0)
    return DataLoader(
        TensorDataset(torch.randn(n, 3, generator=g), torch.randn(n, 1, generator=g)), batch_size=bs
    )


class Probe(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 1)
        self.example_input_array = torch.zeros(1, 3)
        self.seen = {}

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        t = self.trainer
        if batch_idx == 1 and self.current_epoch == 1:
            self.seen.update(
                training=t.training,
                validating=t.validating,
                sanity=t.sanity_checking,
                state=(t.state.fn, t.state.stage, t.state.status),
                epoch=self.current_epoch,
                step=self.global_step,
                device=self.device,
                dtype=self.dtype,
                rank=(self.global_rank, self.local_rank),
                logger=self.logger,
                loggers=self.loggers,
                optimizers=self.optimizers(),
                lr_schedulers=self.lr_schedulers(),
            )
        x, y = batch
        loss = nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        if self.trainer.sanity_checking:
            self.seen["sanity_seen"] = True
        else:
            self.seen["val_state"] = (
                self.trainer.state.stage,
                self.trainer.validating,
                self.training,
            )
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1)}


def test_trainer_attributes_during_and_after_fit(tmp_path):
    model = Probe()
    ckpt, stop = (
        ModelCheckpoint(monitor="val_loss"),
        EarlyStopping(monitor="val_loss", patience=100),
    )
    t = pl.Trainer(
        max_epochs=2,
        default_root_dir=tmp_path,
        callbacks=[ckpt, stop],
        accelerator="cpu",
        accumulate_grad_batches=1,
        gradient_clip_val=1.0,
        log_every_n_steps=1,
    )
    assert t.state.status == "initializing" and t.lightning_module is None
    assert t.estimated_stepping_batches == math.inf or t.max_epochs == 2
    t.fit(model, loader(), loader(4))
    s = model.seen
    assert s["training"] and not s["validating"] and not s["sanity"] and s["sanity_seen"]
    assert s["state"] == ("fit", "train", "running")
    assert s["val_state"] == ("validate", True, False)  # eval mode inside validation
    assert s["epoch"] == 1 and s["step"] == 5
    assert (
        s["device"] == torch.device("cpu") and s["dtype"] == torch.float32 and s["rank"] == (0, 0)
    )
    assert s["logger"] is t.logger and s["loggers"] == t.loggers
    assert isinstance(s["optimizers"], torch.optim.SGD)  # the LightningOptimizer passes isinstance
    assert isinstance(s["lr_schedulers"], torch.optim.lr_scheduler.StepLR)

    assert t.state.status == "finished" and t.state.fn == "fit" and t.state.stage is None
    assert t.current_epoch == 2 and t.global_step == 8
    assert (
        t.num_training_batches == 4 and t.num_val_batches == [2] and t.num_sanity_val_batches == [2]
    )
    assert t.estimated_stepping_batches == 8
    assert t.max_epochs == 2 and t.max_steps == -1 and t.min_epochs == 0
    assert (
        t.accumulate_grad_batches == 1
        and t.gradient_clip_val == 1.0
        and t.gradient_clip_algorithm
        is None  # left unset it stays None (clips by norm), as in Lightning
    )
    assert t.checkpoint_callback is ckpt and t.checkpoint_callbacks == [ckpt]
    assert t.early_stopping_callback is stop
    # Lightning's default bar is rich's when rich is installed
    default_bar = RichProgressBar if importlib.util.find_spec("rich") else TQDMProgressBar
    assert isinstance(t.progress_bar_callback, default_bar)
    assert t.lightning_module is model and t.model is model
    assert (
        t.is_global_zero and t.world_size == 1 and t.global_rank == t.local_rank == t.node_rank == 0
    )
    assert t.num_nodes == 1 and t.device_ids == [0] and t.num_devices == 1
    assert t.precision == "32-true" and type(t.accelerator).__name__ == "CPUAccelerator"
    assert type(t.strategy).__name__ == "SingleDeviceStrategy"
    assert not t.interrupted and not t.should_stop
    assert set(t.callback_metrics) == {"train_loss", "val_loss"}
    assert isinstance(t.callback_metrics["val_loss"], torch.Tensor)
    assert {"train_loss", "val_loss"} <= set(t.logged_metrics)
    assert t.log_dir.endswith("version_0")
    assert len(t.optimizers) == 1 and len(t.lr_scheduler_configs) == 1
    assert t.lr_scheduler_configs[0].interval == "epoch"


def test_module_outside_a_trainer_has_sane_defaults():
    model = Probe()
    assert model.current_epoch == 0 and model.global_step == 0 and model.global_rank == 0
    assert model.logger is None and model.loggers == []
    model.freeze()
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    model.unfreeze()
    assert model.training and all(p.requires_grad for p in model.parameters())


def test_module_print_only_on_rank_zero(capsys):
    Probe().print("hello")
    assert capsys.readouterr().out == "hello\n"


def test_precision_bf16_mixed_on_cpu_trains():
    model = Probe()
    t = pl.Trainer(
        max_epochs=1,
        precision="bf16-mixed",
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    before = model.layer.weight.detach().clone()
    t.fit(model, loader())
    assert t.precision == "bf16-mixed"
    assert model.layer.weight.dtype == torch.float32 and not torch.equal(before, model.layer.weight)


def test_precision_64_true_converts_model_and_inputs():
    model = Probe()
    t = pl.Trainer(
        max_epochs=1,
        precision="64-true",
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    t.fit(model, loader())
    assert model.layer.weight.dtype == torch.float64
