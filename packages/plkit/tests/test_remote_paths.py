"""Checkpoints and logs on remote storage through fsspec: ``memory://`` here (an S3 API served by
moto in tests/integration/test_remote_storage.py). The files are those of a local run, in the
same places; resuming from them is exact; a missing filesystem package fails at construction."""

from __future__ import annotations

import sys
import uuid

import fsspec
import pytest
import torch
from fsspec.registry import (
    _registry as _fsspec_registry,
)  # the cache of imported filesystem classes
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import plkit as pl
from plkit.callbacks import ModelCheckpoint
from plkit.demos.boring_classes import BoringModel
from plkit.loggers import CSVLogger, TensorBoardLogger


@pytest.fixture
def memory_root():
    root = f"memory://plkit-{uuid.uuid4().hex[:8]}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def _tree(root: str) -> list[str]:
    fs, inner = fsspec.core.url_to_fs(root)
    return sorted(path[len(inner.rstrip("/")) + 1 :] for path in fs.find(inner))


class Net(pl.LightningModule):
    def __init__(self, lr: float = 0.05) -> None:
        super().__init__()
        self.save_hyperparameters()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        # a made-up score that is best at epoch 1, so top-k must delete and keep the right files
        self.log("score", torch.tensor(float(abs(self.current_epoch - 1))))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)


def _loaders():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(16, 4, generator=g)
    ds = TensorDataset(x, x.sum(1, keepdim=True))
    return DataLoader(ds, batch_size=4, shuffle=True), DataLoader(ds, batch_size=8)


def _trainer(root: str, max_epochs: int, **checkpoint) -> pl.Trainer:
    return pl.Trainer(
        default_root_dir=root,
        max_epochs=max_epochs,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=[CSVLogger(root), TensorBoardLogger(root)],
        callbacks=[ModelCheckpoint(**checkpoint)],
    )


def _fit(root, max_epochs, ckpt_path=None, **checkpoint):
    trainer = _trainer(root, max_epochs, **checkpoint)
    model = Net()
    train, val = _loaders()
    trainer.fit(model, train, val, ckpt_path=ckpt_path)
    return trainer, model


def test_fit_writes_the_local_layout_to_memory(memory_root):
    trainer, _ = _fit(memory_root, 3, monitor="score", save_top_k=1, save_last=True)
    files = _tree(memory_root)
    events = [f for f in files if "events.out.tfevents" in f]
    # CSVLogger takes version_0 (and the checkpoints, as the first logger), TensorBoard
    # version_1: what Lightning writes to memory:// and to a local folder.
    assert len(events) == 1 and events[0].startswith("lightning_logs/version_1/")
    assert [f for f in files if f not in events] == [
        "lightning_logs/version_0/checkpoints/epoch=1-step=8.ckpt",
        "lightning_logs/version_0/checkpoints/last.ckpt",
        "lightning_logs/version_0/hparams.yaml",
        "lightning_logs/version_0/metrics.csv",
        "lightning_logs/version_1/hparams.yaml",
    ]
    callback = trainer.checkpoint_callback
    assert (
        callback.best_model_path
        == f"{memory_root}/lightning_logs/version_0/checkpoints/epoch=1-step=8.ckpt"
    )
    assert (
        callback.last_model_path == f"{memory_root}/lightning_logs/version_0/checkpoints/last.ckpt"
    )
    assert float(callback.best_model_score) == 0.0
    assert trainer.log_dir == f"{memory_root}/lightning_logs/version_0"


def test_local_run_gives_the_same_files(tmp_path, memory_root):
    _fit(memory_root, 3, monitor="score", save_top_k=2, save_last=True)
    _fit(str(tmp_path), 3, monitor="score", save_top_k=2, save_last=True)
    local = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())

    def without_events(names):
        return [n for n in names if "tfevents" not in n]

    assert without_events(_tree(memory_root)) == without_events(local)
    remote_csv = (
        fsspec.open(f"{memory_root}/lightning_logs/version_0/metrics.csv", "rb").open().read()
    )
    local_csv = (tmp_path / "lightning_logs/version_0/metrics.csv").read_bytes()
    assert remote_csv.count(b"\n") == local_csv.count(b"\n")  # the same rows (times differ)
    assert remote_csv.splitlines()[0] == local_csv.splitlines()[0]


def test_resume_from_memory_is_exact(memory_root):
    _, full = _fit(f"{memory_root}/full", 3)
    dirpath = f"{memory_root}/part/ck"
    first, _ = _fit(f"{memory_root}/part", 2, dirpath=dirpath, save_last=True)
    last = first.checkpoint_callback.last_model_path
    assert last == f"{dirpath}/last.ckpt"
    # ckpt_path="last" finds it on the store (Lightning lists it but then looks for it on the
    # local disk, and silently starts afresh); the run ends where the uninterrupted one did.
    resumed, model = _fit(
        f"{memory_root}/part", 3, ckpt_path="last", dirpath=dirpath, save_last=True
    )
    assert resumed.ckpt_path == last
    assert resumed.global_step == 12
    for a, b in zip(full.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
    loaded = Net.load_from_checkpoint(resumed.checkpoint_callback.last_model_path)
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


def test_ckpt_path_best_and_an_explicit_url(memory_root):
    trainer, model = _fit(memory_root, 3, monitor="score")
    best = trainer.checkpoint_callback.best_model_path
    trainer.validate(model, _loaders()[1], ckpt_path="best", verbose=False)
    assert trainer.ckpt_path == best
    trainer.validate(model, _loaders()[1], ckpt_path=best, verbose=False)
    with pytest.raises(FileNotFoundError, match="Checkpoint file not found"):
        trainer.validate(model, _loaders()[1], ckpt_path=f"{memory_root}/missing.ckpt")


def test_top_k_keeps_and_deletes_on_memory(memory_root):
    trainer, _ = _fit(memory_root, 4, dirpath=f"{memory_root}/ck", monitor="score", save_top_k=2)
    assert _tree(f"{memory_root}/ck") == ["epoch=0-step=4.ckpt", "epoch=1-step=8.ckpt"]
    assert sorted(trainer.checkpoint_callback.best_k_models) == [
        f"{memory_root}/ck/epoch=0-step=4.ckpt",
        f"{memory_root}/ck/epoch=1-step=8.ckpt",
    ]
    trainer.checkpoint_callback.to_yaml()
    assert "best_k_models.yaml" in _tree(f"{memory_root}/ck")


def test_the_version_counter_sees_remote_files(memory_root):
    _fit(memory_root, 1, dirpath=f"{memory_root}/ck", filename="same")
    with pytest.warns(UserWarning, match="exists and is not empty"):
        _fit(memory_root, 1, dirpath=f"{memory_root}/ck", filename="same")
    assert _tree(f"{memory_root}/ck") == ["same-v1.ckpt", "same.ckpt"]


def test_save_last_link_is_refused_on_remote_storage(memory_root):
    # As Lightning: symbolic links exist only on local file systems.
    with pytest.raises(
        ValueError, match=r"save_last='link'\)` is only supported for local file paths"
    ):
        _fit(memory_root, 1, save_last="link")


def test_file_urls_are_local_paths(tmp_path):
    trainer = pl.Trainer(default_root_dir=f"file://{tmp_path}", logger=False)
    assert trainer.default_root_dir == str(tmp_path)
    callback = ModelCheckpoint(dirpath=f"file://{tmp_path}/ck")
    assert callback.dirpath == str(tmp_path / "ck")


@pytest.mark.parametrize(
    "build",
    [
        lambda: pl.Trainer(default_root_dir="s3://bucket/run"),
        lambda: ModelCheckpoint(dirpath="s3://b/c"),
        lambda: CSVLogger("s3://b/logs"),
        lambda: TensorBoardLogger("s3://b/tb"),
        lambda: BoringModel.load_from_checkpoint("s3://b/x.ckpt"),
    ],
)
def test_a_missing_s3fs_fails_at_construction_naming_it(build, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "s3fs", None)
    monkeypatch.delitem(_fsspec_registry, "s3", raising=False)
    with pytest.raises(
        ImportError,
        match=r"needs the `s3fs` package: `pip install s3fs` \(or `pip install plkit\[s3\]`\)",
    ):
        build()
    assert not any(tmp_path.iterdir())  # nothing written, no local ./s3: folder


def test_fit_with_a_missing_package_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gcsfs", None)
    monkeypatch.delitem(_fsspec_registry, "gs", raising=False)
    trainer = pl.Trainer(
        default_root_dir=tmp_path, logger=False, enable_progress_bar=False, max_epochs=1
    )
    with pytest.raises(ImportError, match="^ckpt_path: 'gs://b/last.ckpt' is on gs:// storage"):
        trainer.fit(BoringModel(), ckpt_path="gs://b/last.ckpt")
    assert trainer.global_step == 0


def test_the_checkpoint_resumed_from_is_not_deleted(memory_root):
    # As for local folders; Lightning deletes any remote file that drops out of the top k.
    dirpath = f"{memory_root}/ck"
    _fit(memory_root, 2, dirpath=dirpath)
    assert _tree(dirpath) == ["epoch=1-step=8.ckpt"]  # save_top_k=1 removed epoch=0's
    _fit(memory_root, 3, ckpt_path=f"{dirpath}/epoch=1-step=8.ckpt", dirpath=dirpath)
    assert _tree(dirpath) == ["epoch=1-step=8.ckpt", "epoch=2-step=12.ckpt"]


def test_save_checkpoint_and_hparams_file_urls(memory_root, tmp_path):
    trainer, model = _fit(memory_root, 1, dirpath=f"{memory_root}/ck")
    trainer.save_checkpoint(f"{memory_root}/manual/w.ckpt", weights_only=True)
    loaded = Net.load_from_checkpoint(
        f"{memory_root}/manual/w.ckpt",
        hparams_file=f"{memory_root}/lightning_logs/version_0/hparams.yaml",
    )
    assert loaded.hparams.lr == 0.05
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)


def test_preemption_checkpoints_are_found_and_retired_on_memory(memory_root):
    from plcore.checkpoint import atomic_save
    from plkit._preemption import (
        RUN_KEY,
        hpc_checkpoint_path,
        hpc_run_of,
        newest_hpc_checkpoint,
        retire_hpc_checkpoints,
    )

    assert hpc_checkpoint_path(memory_root) == f"{memory_root}/hpc_ckpt_1.ckpt"
    for number, owner in ((1, "run:a"), (2, "run:b"), (3, "run:a")):
        atomic_save({RUN_KEY: owner}, f"{memory_root}/hpc_ckpt_{number}.ckpt")
    assert newest_hpc_checkpoint(memory_root) == f"{memory_root}/hpc_ckpt_3.ckpt"
    assert hpc_run_of(f"{memory_root}/hpc_ckpt_2.ckpt") == "run:b"
    assert hpc_checkpoint_path(memory_root) == f"{memory_root}/hpc_ckpt_4.ckpt"
    removed = retire_hpc_checkpoints(memory_root, "run:a", keep=f"{memory_root}/hpc_ckpt_3.ckpt")
    assert removed == [f"{memory_root}/hpc_ckpt_1.ckpt"]
    assert _tree(memory_root) == ["hpc_ckpt_2.ckpt", "hpc_ckpt_3.ckpt"]
