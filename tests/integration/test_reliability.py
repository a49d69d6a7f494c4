"""Faults a long run meets, and what plkit keeps when they happen (issue 11, points 3 and 4).

Disk faults: a full disk (``ENOSPC``) while a checkpoint is written leaves the previous checkpoint
intact and loadable, nothing partial under a final name, and an error that names the path.

Numerical faults: ``Trainer(detect_anomaly=True)`` names the backward op that produced a NaN; a
NaN or infinite loss with ``EarlyStopping(check_finite=True)`` stops the run and says at which
epoch and step; gradient clipping does not repair NaN gradients (the weights become NaN), and
``EarlyStopping`` plus a ``ModelCheckpoint`` that monitors the loss keep the last good weights as
the best checkpoint. ``docs/reliability.md`` explains each case.

Run with ``python -m pytest tests/integration/test_reliability.py -q``.
"""

from __future__ import annotations

import errno
import importlib.util
import io
import math
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plcore.checkpoint
import plkit as pl
from plcore.checkpoint import safe_load
from plkit.callbacks import EarlyStopping, ModelCheckpoint
from plkit.callbacks.early_stopping import EarlyStoppingReason

BATCHES_PER_EPOCH = 4


# ---------------------------------------------------------------------------------------------
# a tiny model, and what every test shares
# ---------------------------------------------------------------------------------------------
class TinyModel(pl.LightningModule):
    """A linear regression whose loss can be poisoned from a chosen optimizer step on.

    Args:
        poison: what to do from ``poison_step`` on: None, "nan_loss", "inf_loss", "nan_grad_once"
            (one batch with a NaN loss, like one corrupt sample) or "nan_grad_finite_loss" (a
            finite loss whose backward yields NaN, through ``sqrt(0) * 0``).
        poison_step: the ``global_step`` at which the poison starts.
    """

    def __init__(self, poison: str | None = None, poison_step: int = 6) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Linear(4, 1)
        self.poison = poison
        self.poison_step = poison_step

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        out = self.layer(x)
        loss = nn.functional.mse_loss(out, y)
        loss = loss + self._poison(out)
        self.log("train_loss", loss)
        return loss

    def _poison(self, out: torch.Tensor) -> torch.Tensor:
        due = self.poison is not None and self.global_step >= self.poison_step
        if self.poison == "nan_grad_once":
            due = self.global_step == self.poison_step
        if not due:
            return torch.zeros(())
        if self.poison == "nan_loss" or self.poison == "nan_grad_once":
            return out.sum() * math.nan
        if self.poison == "inf_loss":
            return out.sum() * 0 + math.inf
        # sqrt(0) has an infinite derivative; times 0 that is NaN, while the value stays 0
        return (torch.sqrt(out * 0) * 0).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.05)


def loader() -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2 * BATCHES_PER_EPOCH, 4, generator=generator)
    y = x.sum(dim=1, keepdim=True)
    return DataLoader(TensorDataset(x, y), batch_size=2)


def make_trainer(root: Path, **kwargs: object) -> pl.Trainer:
    options: dict[str, object] = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=str(root),
    )
    options.update(kwargs)
    return pl.Trainer(**options)


def all_finite(state_dict: dict[str, torch.Tensor]) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in state_dict.values())


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything written to the working directory lands in the test's own folder."""
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------------------------------------
# disk faults
# ---------------------------------------------------------------------------------------------
def fail_saves_after(monkeypatch: pytest.MonkeyPatch, good_saves: int) -> list[int]:
    """Make ``torch.save`` in plcore's writer run out of disk after ``good_saves`` checkpoints.

    A failing save first writes half the bytes, as a real full disk does, then raises ENOSPC.
    Returns a list whose length counts the calls.
    """
    real_save = torch.save
    calls: list[int] = []

    def save(obj: object, f: object, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) <= good_saves:
            real_save(obj, f, *args, **kwargs)
            return
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(plcore.checkpoint.torch, "save", save)
    return calls


def test_enospc_on_a_new_top_k_file_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    folder = tmp_path / "ckpts"
    checkpoint = ModelCheckpoint(dirpath=folder, every_n_train_steps=2, save_top_k=1)
    trainer = make_trainer(tmp_path, max_steps=8, callbacks=[checkpoint])
    fail_saves_after(monkeypatch, good_saves=1)

    with pytest.raises(OSError) as info:
        trainer.fit(TinyModel(), loader())

    failed = str(folder / "epoch=0-step=4.ckpt")
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == failed and failed in str(info.value)
    assert trainer.interrupted and trainer.global_step == 4
    # the earlier file is the only one: no hidden temporary, nothing under the failed name
    assert sorted(os.listdir(folder)) == ["epoch=0-step=2.ckpt"]
    previous = safe_load(folder / "epoch=0-step=2.ckpt")
    assert previous["global_step"] == 2
    model = TinyModel()
    model.load_state_dict(previous["state_dict"])
    assert all_finite(model.state_dict())


def test_enospc_while_overwriting_last_ckpt_keeps_its_old_content(tmp_path, monkeypatch):
    folder = tmp_path / "ckpts"
    checkpoint = ModelCheckpoint(
        dirpath=folder, every_n_train_steps=2, save_top_k=0, save_last=True
    )
    trainer = make_trainer(tmp_path, max_steps=8, callbacks=[checkpoint])
    fail_saves_after(monkeypatch, good_saves=2)

    with pytest.raises(OSError, match="last.ckpt") as info:
        trainer.fit(TinyModel(), loader())

    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(folder / "last.ckpt")
    assert os.listdir(folder) == ["last.ckpt"]
    # the same final name as the failed write, still holding the step-4 checkpoint whole
    assert safe_load(folder / "last.ckpt")["global_step"] == 4


def test_a_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    folder = tmp_path / "ckpts"
    checkpoint = ModelCheckpoint(dirpath=folder, every_n_train_steps=2, save_top_k=-1)
    trainer = make_trainer(tmp_path, max_steps=8, callbacks=[checkpoint])
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        if str(dst).endswith("step=6.ckpt"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(src, dst)

    monkeypatch.setattr(plcore.checkpoint.os, "replace", replace)
    with pytest.raises(OSError, match=r"step=6\.ckpt"):
        trainer.fit(TinyModel(), loader())
    assert sorted(os.listdir(folder)) == ["epoch=0-step=2.ckpt", "epoch=0-step=4.ckpt"]


@pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty")
def test_after_a_disk_fault_resuming_from_last_continues_from_the_intact_file(
    tmp_path, monkeypatch
):
    folder = tmp_path / "ckpts"
    callbacks = lambda: [ModelCheckpoint(dirpath=folder, every_n_train_steps=2, save_last=True)]  # noqa: E731
    with monkeypatch.context() as patch:
        fail_saves_after(patch, good_saves=2)  # step 2: epoch=0-step=2.ckpt and last.ckpt
        with pytest.raises(OSError):
            make_trainer(tmp_path, max_steps=8, callbacks=callbacks()).fit(TinyModel(), loader())

    trainer = make_trainer(tmp_path, max_steps=8, callbacks=callbacks())
    trainer.fit(TinyModel(), loader(), ckpt_path="last")
    assert trainer.ckpt_path == str(folder / "last.ckpt")
    assert trainer.global_step == 8
    # the resumed run ends where an uninterrupted one does
    reference = make_trainer(tmp_path / "ref", max_steps=8, enable_checkpointing=False)
    reference_model = TinyModel()
    reference.fit(reference_model, loader())
    for key, value in reference_model.state_dict().items():
        torch.testing.assert_close(trainer.lightning_module.state_dict()[key], value)


def test_after_a_disk_fault_best_model_path_names_a_file_that_exists(tmp_path, monkeypatch):
    folder = tmp_path / "ckpts"
    checkpoint = ModelCheckpoint(dirpath=folder, every_n_train_steps=2, save_top_k=1)
    trainer = make_trainer(tmp_path, max_steps=8, callbacks=[checkpoint])
    fail_saves_after(monkeypatch, good_saves=1)
    with pytest.raises(OSError):
        trainer.fit(TinyModel(), loader())
    assert checkpoint.best_model_path == str(folder / "epoch=0-step=2.ckpt")
    assert os.path.isfile(checkpoint.best_model_path)


def test_opt_in_warns_on_a_disk_fault_and_training_continues(tmp_path, monkeypatch):
    folder = tmp_path / "ckpts"
    checkpoint = ModelCheckpoint(
        dirpath=folder, every_n_train_steps=2, save_top_k=-1, on_save_error="warn"
    )
    trainer = make_trainer(tmp_path, max_steps=8, callbacks=[checkpoint])
    real_save = torch.save
    calls: list[int] = []

    def save(obj: object, f: object, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:  # only the step-4 save finds the disk full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(plcore.checkpoint.torch, "save", save)
    with pytest.warns(UserWarning, match=r"step=4\.ckpt"):
        trainer.fit(TinyModel(), loader())
    assert trainer.global_step == 8 and not trainer.interrupted
    assert sorted(os.listdir(folder)) == [
        "epoch=0-step=2.ckpt",
        "epoch=1-step=6.ckpt",
        "epoch=1-step=8.ckpt",
    ]


# ---------------------------------------------------------------------------------------------
# numerical faults
# ---------------------------------------------------------------------------------------------
def test_detect_anomaly_names_the_backward_op_that_made_nan(tmp_path):
    trainer = make_trainer(tmp_path, max_epochs=1, detect_anomaly=True, enable_checkpointing=False)
    with (
        warnings.catch_warnings(),
        pytest.raises(RuntimeError, match=r"SqrtBackward0.*nan"),
    ):
        warnings.simplefilter("ignore")  # torch warns that anomaly detection is slow
        trainer.fit(TinyModel("nan_grad_finite_loss", poison_step=1), loader())
    assert trainer.global_step == 1  # the step whose backward made NaN did not happen
    assert all_finite(trainer.lightning_module.state_dict())
    assert not torch.is_anomaly_enabled()  # switched off again after the run


def test_without_detect_anomaly_nan_gradients_pass_silently(tmp_path):
    trainer = make_trainer(tmp_path, max_epochs=1, enable_checkpointing=False)
    last = BATCHES_PER_EPOCH - 1  # poison the last batch: its loss is the last one logged
    trainer.fit(TinyModel("nan_grad_finite_loss", poison_step=last), loader())
    assert trainer.global_step == BATCHES_PER_EPOCH
    assert torch.isfinite(trainer.callback_metrics["train_loss"])  # the loss looks fine...
    assert not all_finite(trainer.lightning_module.state_dict())  # ...the weights are gone


@pytest.mark.parametrize("poison", ["nan_loss", "inf_loss"])
def test_non_finite_loss_stops_with_a_message(tmp_path, poison):
    stopper = EarlyStopping(
        monitor="train_loss", check_finite=True, check_on_train_epoch_end=True, patience=100
    )
    trainer = make_trainer(tmp_path, max_epochs=10, callbacks=[stopper], enable_checkpointing=False)
    trainer.fit(TinyModel(poison, poison_step=6), loader())  # poisoned from epoch 1, batch 2

    assert trainer.current_epoch == 2 and trainer.global_step == 8  # stopped after epoch 1
    assert stopper.stopped_epoch == 1
    assert stopper.stopping_reason == EarlyStoppingReason.NON_FINITE_METRIC
    message = stopper.stopping_reason_message or ""
    value = "nan" if poison == "nan_loss" else "inf"
    # Lightning's words: the value and the previous best (the epoch is in stopped_epoch)
    assert message.startswith(f"Monitored metric train_loss = {value} is not finite.")
    assert "Previous best value was" in message


def test_clip_grad_norm_turns_nan_gradients_into_nan_weights():
    """What ``gradient_clip_val`` does with a NaN gradient, shown on torch alone."""
    layer = nn.Linear(2, 1)
    layer.weight.grad = torch.tensor([[math.nan, 1.0]])
    layer.bias.grad = torch.tensor([1.0])
    total = torch.nn.utils.clip_grad_norm_(layer.parameters(), max_norm=1.0)
    assert math.isnan(float(total))
    # the clip coefficient is max_norm / NaN, so *every* gradient becomes NaN, not only the bad one
    assert torch.isnan(layer.bias.grad).all() and torch.isnan(layer.weight.grad).all()
    torch.optim.SGD(layer.parameters(), lr=0.1).step()
    assert torch.isnan(layer.weight).all() and torch.isnan(layer.bias).all()


class WeightWatcher(pl.Callback):
    """Records, after every optimizer step, whether all weights are still finite."""

    def __init__(self) -> None:
        self.finite: list[bool] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.finite.append(all_finite(pl_module.state_dict()))


@pytest.mark.parametrize("algorithm", ["norm", "value"])
def test_clipping_nan_gradients_then_early_stopping_keeps_the_last_good_checkpoint_best(
    tmp_path, algorithm
):
    folder = tmp_path / "ckpts"
    checkpoint = ModelCheckpoint(
        dirpath=folder, monitor="train_loss", every_n_train_steps=1, save_top_k=2
    )
    stopper = EarlyStopping(
        monitor="train_loss", check_finite=True, check_on_train_epoch_end=True, patience=100
    )
    watcher = WeightWatcher()
    trainer = make_trainer(
        tmp_path,
        max_epochs=10,
        gradient_clip_val=1.0,
        gradient_clip_algorithm=algorithm,
        callbacks=[watcher, stopper, checkpoint],
    )
    model = TinyModel("nan_grad_once", poison_step=6)  # one bad batch: epoch 1, batch 2
    trainer.fit(model, loader())

    # clipping did not save the weights: NaN from the bad step on
    assert watcher.finite == [True] * 6 + [False] * 2
    assert not all_finite(model.state_dict())
    # EarlyStopping ended the run at the end of that epoch instead of training on NaN
    assert trainer.global_step == 8 and stopper.stopped_epoch == 1
    # a NaN loss never enters the top k: the best checkpoint holds the last good weights
    assert torch.isfinite(checkpoint.best_model_score)
    for path in folder.iterdir():
        saved = safe_load(path)
        assert all_finite(saved["state_dict"]), path.name
        assert saved["global_step"] <= 6
    best = TinyModel.load_from_checkpoint(checkpoint.best_model_path)
    assert all_finite(best.state_dict())


def test_finite_loss_with_nan_gradients_needs_detect_anomaly_to_keep_checkpoints_clean(tmp_path):
    """The monitored loss is computed before the step; a checkpoint holds the weights after it.

    When the loss is finite but its gradient is NaN, the checkpoint of that step ranks by a
    finite score yet holds NaN weights. detect_anomaly stops the step before it happens.
    """

    def run(root: Path, **flags: object) -> ModelCheckpoint:
        checkpoint = ModelCheckpoint(
            dirpath=root / "ckpts", monitor="train_loss", every_n_train_steps=1, save_top_k=-1
        )
        trainer = make_trainer(root, max_epochs=1, callbacks=[checkpoint], **flags)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                trainer.fit(TinyModel("nan_grad_finite_loss", poison_step=2), loader())
            except RuntimeError as err:
                assert "SqrtBackward0" in str(err)
        return checkpoint

    unguarded = run(tmp_path / "unguarded")
    states = {Path(p).name: safe_load(p)["state_dict"] for p in unguarded.best_k_models}
    assert all_finite(states["epoch=0-step=2.ckpt"])
    assert not all_finite(states["epoch=0-step=3.ckpt"])  # finite score, NaN weights

    guarded = run(tmp_path / "guarded", detect_anomaly=True)
    assert sorted(Path(p).name for p in guarded.best_k_models) == [
        "epoch=0-step=1.ckpt",
        "epoch=0-step=2.ckpt",
    ]
    assert all(all_finite(safe_load(p)["state_dict"]) for p in guarded.best_k_models)


class StrictClipModel(TinyModel):
    """The remedy docs/reliability.md shows: clip, and fail on a non-finite gradient norm."""

    def configure_gradient_clipping(
        self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None
    ) -> None:
        torch.nn.utils.clip_grad_norm_(
            self.parameters(), gradient_clip_val or 1.0, error_if_nonfinite=True
        )


def test_clipping_with_error_if_nonfinite_stops_before_the_bad_step(tmp_path):
    trainer = make_trainer(
        tmp_path, max_epochs=1, gradient_clip_val=1.0, enable_checkpointing=False
    )
    model = StrictClipModel("nan_grad_finite_loss", poison_step=2)
    with pytest.raises(RuntimeError, match="non-finite"):
        trainer.fit(model, loader())
    assert trainer.global_step == 2
    assert all_finite(model.state_dict())  # the optimizer never applied the NaN gradient


# ---------------------------------------------------------------------------------------------
# the soak run's verdict (the run itself is `nox -s soak`)
# ---------------------------------------------------------------------------------------------
def load_soak() -> ModuleType:
    path = Path(__file__).parents[2] / "benchmarks" / "soak.py"
    spec = importlib.util.spec_from_file_location("plkit_soak", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({}, None),
        ({"rss": 5 * 2**20}, "resident memory grew by 5.00 MiB"),
        ({"fds": 1}, "1 file descriptor(s) more"),
        ({"checkpoints": 5}, "5 checkpoint files at once"),
        ({"validations": -1}, "3 validation runs, expected 4"),
    ],
)
def test_the_soak_verdict_flags_growth_leaks_and_missing_work(change, complaint):
    soak = load_soak()
    args = soak.parse_args(["--steps", "4000", "--every", "1000", "--warmup", "1000"])
    samples = [
        soak.Sample(step, step / 1e3, 300 * 2**20, 6, min(step // 1000, 4))
        for step in (0, 1000, 2000, 3000, 4000)
    ]
    last = samples[-1]
    samples[-1] = soak.Sample(
        last.step,
        last.seconds,
        last.rss + change.get("rss", 0),
        last.fds + change.get("fds", 0),
        change.get("checkpoints", last.checkpoints),
    )
    failures = soak.verdict(samples, 4 + change.get("validations", 0), args)
    if complaint is None:
        assert failures == []
    else:
        assert len(failures) == 1 and complaint in failures[0]
