"""Clear errors for wrong models, missing hooks, misspelt hooks and missing data."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import plkit as pl
from plkit.utilities.exceptions import MisconfigurationException


def make(**kw):
    defaults = dict(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    defaults.update(kw)
    return pl.Trainer(**defaults)


def data():
    return DataLoader(torch.randn(4, 2), batch_size=2)


class Base(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_no_training_step():
    class M(pl.LightningModule):
        def configure_optimizers(self):
            return None

    with pytest.raises(MisconfigurationException, match="training_step"):  # Lightning's class
        make().fit(M(), data())


def test_no_configure_optimizers():
    class M(pl.LightningModule):
        def training_step(self, batch, batch_idx):
            return batch.sum()

    with pytest.raises(MisconfigurationException, match="configure_optimizers"):
        make().fit(M(), data())


def test_misspelt_configure_optimizer_warns_and_the_missing_hook_error_names_it():
    # Lightning ignores the misspelt method and raises MisconfigurationException at fit.
    class M(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            return self.layer(batch).sum()

        def configure_optimizer(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    with (
        pytest.warns(UserWarning, match="Rename it to `configure_optimizers`"),
        pytest.raises(MisconfigurationException, match="Did you mean `M.configure_optimizer`"),
    ):
        make().fit(M(), data())


def test_misspelt_datamodule_hook_next_to_the_right_one_warns():
    class DM(pl.LightningDataModule):
        def train_dataloader(self):
            return data()

        def test_dataloder(self):  # the seed's typo
            return data()

        def test_dataloader(self):
            return data()

    with pytest.warns(UserWarning, match="test_dataloder.*test_dataloader"):
        make().fit(Base(), datamodule=DM())


def test_misspelt_datamodule_hook_alone_warns_and_fit_runs():
    class DM(pl.LightningDataModule):
        def train_dataloader(self):
            return data()

        def test_dataloder(self):
            return data()

    trainer = make()
    with pytest.warns(UserWarning, match="DM.test_dataloder .*Rename it to `test_dataloader`"):
        trainer.fit(Base(), datamodule=DM())
    assert trainer.global_step == 2


def test_misspelt_datamodule_hook_named_when_test_finds_no_data():
    class M(Base):
        def test_step(self, batch, batch_idx):
            pass

    class DM(pl.LightningDataModule):
        def test_dataloder(self):
            return data()

    with (
        pytest.warns(UserWarning, match="test_dataloder"),
        pytest.raises(MisconfigurationException, match="Did you mean `DM.test_dataloder`"),
    ):
        make().test(M(), datamodule=DM())


def test_misspelt_callback_hook_warns():
    class CB(pl.Callback):
        def on_train_epoch_ends(self, trainer, pl_module):
            raise AssertionError("never called")

    trainer = make(callbacks=[CB()])
    with pytest.warns(
        UserWarning, match="CB.on_train_epoch_ends .*Callback hook `on_train_epoch_end`"
    ):
        trainer.fit(Base(), data())
    assert trainer.state.finished


def test_no_train_dataloader():
    with pytest.raises(MisconfigurationException, match="`train_dataloader` must be implemented"):
        make().fit(Base())


def test_plain_nn_module_is_rejected():
    with pytest.raises(TypeError, match="LightningModule"):
        make().fit(nn.Linear(2, 1), data())


def test_train_dataloaders_and_datamodule_together():
    with pytest.raises(MisconfigurationException, match="You cannot pass `train_dataloader` or"):
        make().fit(Base(), data(), datamodule=pl.LightningDataModule())


def test_training_step_bad_return():
    class M(Base):
        def training_step(self, batch, batch_idx):
            return {"los": batch.sum()}

    with pytest.raises(ValueError, match="'loss'"):
        make().fit(M(), data())


def test_validate_without_validation_step_or_data():
    with pytest.raises(MisconfigurationException, match="validation_step"):
        make().validate(Base(), data())

    class V(Base):
        def validation_step(self, batch, batch_idx):
            pass

    with pytest.raises(MisconfigurationException, match="`val_dataloader` must be implemented"):
        make().validate(V())


def test_validate_without_any_model():
    with pytest.raises(TypeError, match="requires a `LightningModule` when it hasn't been passed"):
        make().validate()


def test_bad_dataloader_return():
    class M(Base):
        def train_dataloader(self):
            return 42

    with pytest.raises(TypeError, match="train_dataloader"):
        make().fit(M())


def test_ckpt_path_best_without_checkpoint_callback():
    class V(Base):
        def validation_step(self, batch, batch_idx):
            pass

    with pytest.raises(ValueError, match='ckpt_path="best"'):
        make().validate(V(), data(), ckpt_path="best")


class _Counting(Base):
    steps = 0

    def training_step(self, batch, batch_idx):
        type(self).steps += 1
        return super().training_step(batch, batch_idx)


def test_default_root_dir_under_a_file_fails_before_training(tmp_path):
    (tmp_path / "file").write_text("x")
    root = tmp_path / "file" / "sub"  # cannot be created: unwritable even for root
    model = _Counting()
    with pytest.raises(NotADirectoryError, match="is a file, not a folder") as info:
        make(default_root_dir=root, enable_checkpointing=True).fit(model, data())
    assert str(root) in str(info.value) and "default_root_dir=" in str(info.value)
    assert _Counting.steps == 0  # Lightning trains the first epoch, then fails at its save


def test_unwritable_checkpoint_dirpath_names_the_argument(tmp_path):
    (tmp_path / "file").write_text("x")
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "file")
    with pytest.raises(NotADirectoryError, match=r"ModelCheckpoint\(dirpath=.*dirpath="):
        make(callbacks=[ckpt], enable_checkpointing=True).fit(Base(), data())


def test_unwritable_default_root_dir_is_fine_when_nothing_is_written(tmp_path):
    (tmp_path / "file").write_text("x")
    trainer = make(default_root_dir=tmp_path / "file", enable_checkpointing=False)
    trainer.fit(Base(), data())  # as in Lightning: no logger, no checkpoints, nothing to write
    assert trainer.state.finished


def test_unwritable_checkpoint_folder_only_warns_with_on_save_error_warn(tmp_path):
    (tmp_path / "file").write_text("x")
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "file" / "c", on_save_error="warn")
    trainer = make(callbacks=[ckpt], enable_checkpointing=True)
    with pytest.warns(UserWarning, match="is a file, not a folder"):
        trainer.fit(Base(), data())
    assert trainer.state.finished  # the opt-in keeps training going without saves
