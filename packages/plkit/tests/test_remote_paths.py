"""Remote URLs (s3://, gs://, memory://) are refused where they enter, naming the argument,
instead of being written to a local folder named after the URL; file:// URLs are local paths."""

from __future__ import annotations

import pytest

import plkit as pl
from plkit.demos.boring_classes import BoringModel


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: pl.Trainer(default_root_dir="s3://bucket/run"), "Trainer(default_root_dir=...)"),
        (lambda: pl.callbacks.ModelCheckpoint(dirpath="gs://b/c"), "ModelCheckpoint(dirpath=...)"),
        (lambda: pl.loggers.CSVLogger("memory://logs"), "CSVLogger(save_dir=...)"),
        (lambda: pl.loggers.TensorBoardLogger("s3://b/tb"), "TensorBoardLogger(save_dir=...)"),
        (lambda: BoringModel.load_from_checkpoint("s3://b/x.ckpt"), "checkpoint path"),
    ],
)
def test_remote_urls_are_refused_at_construction(build, name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="is remote storage") as err:
        build()
    assert str(err.value).startswith(name)
    assert not any(tmp_path.iterdir())


def test_fit_refuses_a_remote_ckpt_path_before_training(tmp_path):
    trainer = pl.Trainer(
        default_root_dir=tmp_path, logger=False, enable_progress_bar=False, max_epochs=1
    )
    with pytest.raises(ValueError, match="^ckpt_path: 's3://b/last.ckpt' is remote storage"):
        trainer.fit(BoringModel(), ckpt_path="s3://b/last.ckpt")
    assert trainer.global_step == 0


def test_file_urls_are_local_paths(tmp_path):
    trainer = pl.Trainer(default_root_dir=f"file://{tmp_path}", logger=False)
    assert trainer.default_root_dir == str(tmp_path)
