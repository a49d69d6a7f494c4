"""Exact resume: a run resumed from any checkpoint ends bit-identical to the uninterrupted run."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plcore import CheckpointError
from pllog import Logger


class RecordingLogger(Logger):
    def __init__(self):
        super().__init__()
        self.rows = []

    @property
    def name(self):
        return "rec"

    @property
    def version(self):
        return 0

    def log_metrics(self, metrics, step=None):
        if "train_loss" in metrics:
            self.rows.append((step, metrics["train_loss"]))

    def log_hyperparams(self, params, *args, **kwargs):
        pass


class Net(pl.LightningModule):
    def __init__(self, init_seed=0):
        super().__init__()
        torch.manual_seed(init_seed)
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)]


def data():
    g = torch.Generator().manual_seed(123)
    x = torch.randn(40, 4, generator=g)
    ds = TensorDataset(x, x.sum(1, keepdim=True))
    return DataLoader(ds, batch_size=4, shuffle=True), DataLoader(ds, batch_size=8)


class SaveAt(pl.Callback):
    """Saves a checkpoint at (epoch, batch_idx) in on_train_batch_end, or at an epoch end."""

    def __init__(self, path, epoch, batch_idx=None):
        self.path, self.epoch, self.batch_idx = path, epoch, batch_idx

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.batch_idx is not None and (trainer.current_epoch, batch_idx) == (
            self.epoch,
            self.batch_idx,
        ):
            trainer.save_checkpoint(self.path)

    def on_train_epoch_end(self, trainer, pl_module):
        if self.batch_idx is None and trainer.current_epoch == self.epoch:
            trainer.save_checkpoint(self.path)


def run(ckpt_path=None, callbacks=(), seed=0, init_seed=0, **kw):
    pl.seed_everything(seed, verbose=False)
    logger = RecordingLogger()
    model = Net(init_seed)
    train, val = data()
    trainer = pl.Trainer(
        max_epochs=3,
        logger=logger,
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        callbacks=list(callbacks),
        val_check_interval=0.5,
        **kw,
    )
    trainer.fit(model, train, val, ckpt_path=ckpt_path)
    return model, trainer, logger.rows


def same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize(
    "epoch,batch_idx,accumulate",
    [
        (0, None, 1),  # end of an epoch
        (1, 3, 1),  # the middle of an epoch
        (1, 4, 1),  # a batch that is followed by a validation (val_check_interval=0.5)
        (1, 3, 3),  # inside an accumulation window (batches 3, 4, 5)
        (0, None, 3),  # epoch end with a short last window
    ],
)
def test_resume_is_bit_identical(tmp_path, epoch, batch_idx, accumulate):
    path = tmp_path / "mid.ckpt"
    full, full_trainer, full_rows = run(
        callbacks=[SaveAt(path, epoch, batch_idx)], accumulate_grad_batches=accumulate
    )
    assert path.is_file()
    resumed, trainer, rows = run(
        ckpt_path=path, seed=999, init_seed=7, accumulate_grad_batches=accumulate
    )
    assert same_weights(full, resumed)
    assert trainer.global_step == full_trainer.global_step
    assert trainer.current_epoch == full_trainer.current_epoch == 3
    assert rows == full_rows[len(full_rows) - len(rows) :]
    assert rows  # something was trained after the resume


def test_resume_restores_optimizer_and_scheduler_state(tmp_path):
    path = tmp_path / "e0.ckpt"
    run(callbacks=[SaveAt(path, 0)])
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["optimizer_states"][0]["state"]  # momentum buffers
    assert ckpt["lr_schedulers"][0]["last_epoch"] == 1
    exact = ckpt["loops"]["fit_loop"]["state_dict"]["exact_resume"]
    assert exact["epoch"] == 1 and exact["batch"] == 0


def test_checkpoint_layout_is_lightnings(tmp_path):
    path = tmp_path / "x.ckpt"
    run(callbacks=[SaveAt(path, 1, 2)])
    ckpt = torch.load(path, weights_only=True)
    for key in (
        "epoch",
        "global_step",
        "pytorch-lightning_version",
        "state_dict",
        "loops",
        "callbacks",
        "optimizer_states",
        "lr_schedulers",
    ):
        assert key in ckpt, key
    assert "plkit_version" not in ckpt  # Lightning writes no such key, so neither does plkit
    assert ckpt["epoch"] == 1 and ckpt["global_step"] == 13
    # Lightning's loop counters, which its loader reads to resume a file
    loops = ckpt["loops"]
    assert list(loops) == ["fit_loop", "validate_loop", "test_loop", "predict_loop"]
    fit_loop = loops["fit_loop"]
    steps = fit_loop["epoch_loop.automatic_optimization.optim_progress"]["optimizer"]["step"]
    assert steps["total"]["completed"] == 13
    assert fit_loop["epoch_progress"]["current"]["completed"] == 1


def test_weights_only_checkpoint_cannot_resume_training(tmp_path):
    class SaveWeights(SaveAt):
        def on_train_epoch_end(self, trainer, pl_module):
            trainer.save_checkpoint(self.path, weights_only=True)

    path = tmp_path / "w.ckpt"
    run(callbacks=[SaveWeights(path, 0)])
    assert "optimizer_states" not in torch.load(path, weights_only=True)
    with pytest.raises(CheckpointError, match="weights only"):
        run(ckpt_path=path)


def test_resume_auto_picks_the_newest_checkpoint(tmp_path):
    def fit(max_epochs):
        pl.seed_everything(0, verbose=False)
        model = Net()
        train, _ = data()
        t = pl.Trainer(
            max_epochs=max_epochs,
            default_root_dir=tmp_path,
            resume="auto",
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
        )
        t.fit(model, train)
        return model, t

    fit(1)
    model, t = fit(2)
    assert t.ckpt_path is not None and t.ckpt_path.endswith(".ckpt")
    assert t.global_step == 20  # 10 steps restored + 10 new


def test_missing_checkpoint_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="Checkpoint file not found"):
        run(ckpt_path=tmp_path / "nope.ckpt")


def test_resume_with_a_sampler_plkit_cannot_replay_warns_and_continues(tmp_path):
    class EveryOther(torch.utils.data.Sampler):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(list(range(0, self.n, 2)) + list(range(1, self.n, 2)))

        def __len__(self):
            return self.n

    def fit(ckpt_path=None, callbacks=()):
        pl.seed_everything(0, verbose=False)
        g = torch.Generator().manual_seed(123)
        x = torch.randn(40, 4, generator=g)
        ds = TensorDataset(x, x.sum(1, keepdim=True))
        loader = DataLoader(ds, batch_size=4, sampler=EveryOther(40))
        t = pl.Trainer(
            max_epochs=2,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
            callbacks=list(callbacks),
        )
        t.fit(Net(), loader, ckpt_path=ckpt_path)
        return t

    path = tmp_path / "m.ckpt"
    fit(callbacks=[SaveAt(path, 0, 3)])
    with pytest.warns(UserWarning, match="sampler EveryOther has no state"):
        t = fit(ckpt_path=path)
    assert t.global_step == 20


def test_checkpoint_written_after_fit_resumes_at_the_next_epoch(tmp_path):
    model, trainer, _ = run()
    path = tmp_path / "after.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    exact = ckpt["loops"]["fit_loop"]["state_dict"]["exact_resume"]
    assert ckpt["epoch"] == 3 and exact["epoch"] == 3 and exact["batch"] == 0
    assert ckpt["loops"]["fit_loop"]["epoch_progress"]["total"] == dict.fromkeys(
        ("ready", "completed", "started", "processed"), 3
    )
    pl.seed_everything(0, verbose=False)
    more = pl.Trainer(
        max_epochs=4,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    more.fit(Net(), data()[0], ckpt_path=path)
    assert more.current_epoch == 4 and more.global_step == trainer.global_step + 10


@pytest.mark.parametrize(("epoch", "batch_idx", "next_batch"), [(1, 3, (1, 4)), (0, None, (1, 0))])
def test_resume_from_lightnings_loop_counters(tmp_path, epoch, batch_idx, next_batch):
    """A file with Lightning's counters only (no exact-resume entry) resumes where Lightning
    would: after the saved batch inside an epoch, or at the next epoch after an epoch end."""
    path = tmp_path / "x.ckpt"
    run(callbacks=[SaveAt(path, epoch, batch_idx)])
    ckpt = torch.load(path, weights_only=True)
    del ckpt["loops"]["fit_loop"]["state_dict"]["exact_resume"]  # what Lightning writes
    torch.save(ckpt, path)

    class FirstBatch(pl.Callback):
        seen = None

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if self.seen is None:
                self.seen = (trainer.current_epoch, batch_idx, trainer.global_step)

    first = FirstBatch()
    _, trainer, _ = run(ckpt_path=path, callbacks=[first])
    assert first.seen == (*next_batch, ckpt["global_step"])
    assert trainer.current_epoch == 3 and trainer.global_step == 30


def _counters(path):
    fit_loop = torch.load(path, weights_only=False)["loops"]["fit_loop"]
    return {key: value for key, value in fit_loop.items() if key != "state_dict"}


def test_loop_counters_restart_each_epoch_and_survive_a_resume(tmp_path):
    # 10 batches an epoch, validation after batches 4 and 9 (5 batches each), an epoch scheduler
    run(callbacks=[SaveAt(tmp_path / "a.ckpt", 1, 3), SaveAt(tmp_path / "b.ckpt", 1, 6)])
    early, later = _counters(tmp_path / "a.ckpt"), _counters(tmp_path / "b.ckpt")
    # the scheduler stepped once, at epoch 0's end: counted in the total, not in this epoch
    assert early["epoch_loop.scheduler_progress"]["total"]["completed"] == 1
    assert early["epoch_loop.scheduler_progress"]["current"]["completed"] == 0
    # validation: the total restarts with the epoch, the last pass's count stays
    val = early["epoch_loop.val_loop.batch_progress"]
    assert (val["total"]["completed"], val["current"]["completed"]) == (0, 5)
    val = later["epoch_loop.val_loop.batch_progress"]
    assert (val["total"]["completed"], val["current"]["completed"]) == (5, 5)
    # a run resumed from the first checkpoint counts on from it
    run(ckpt_path=tmp_path / "a.ckpt", callbacks=[SaveAt(tmp_path / "c.ckpt", 1, 6)])
    assert _counters(tmp_path / "c.ckpt") == later
