"""Lightning's public module paths under plkit, and the exception classes Lightning users catch."""

from __future__ import annotations

import importlib

import pytest
import torch

import plkit as pl
from plkit.utilities.exceptions import MisconfigurationException

PATHS = {
    "plkit.utilities": ("grad_norm", "rank_zero_only", "rank_zero_info", "rank_zero_warn"),
    "plkit.utilities.exceptions": ("MisconfigurationException",),
    "plkit.utilities.warnings": ("PossibleUserWarning",),
    "plkit.utilities.types": ("STEP_OUTPUT", "OptimizerLRScheduler", "LRSchedulerConfig"),
    "plkit.utilities.seed": ("isolate_rng", "seed_everything"),
    "plkit.core": ("LightningModule", "LightningDataModule"),
    "plkit.strategies": ("Strategy", "SingleDeviceStrategy", "DDPStrategy"),
    "plkit.accelerators": ("Accelerator", "CPUAccelerator", "CUDAAccelerator", "MPSAccelerator"),
    "plkit.plugins": ("Precision", "MixedPrecision", "CheckpointIO", "TorchCheckpointIO"),
    "plkit.plugins.environments": ("ClusterEnvironment", "SLURMEnvironment"),
    "plkit.demos.boring_classes": ("BoringModel", "BoringDataModule", "RandomDataset"),
    "plkit.cli": ("LightningCLI", "LightningArgumentParser", "SaveConfigCallback"),
    "plkit.loggers": ("Logger", "CSVLogger", "TensorBoardLogger", "MLFlowLogger", "WandbLogger"),
    "plkit.loggers.comet": ("CometLogger",),
    "plkit.loggers.mlflow": ("MLFlowLogger",),
    "plkit.loggers.wandb": ("WandbLogger",),
    "plkit.profilers": (
        "Profiler",
        "PassThroughProfiler",
        "SimpleProfiler",
        "AdvancedProfiler",
        "PyTorchProfiler",
    ),
    "plkit.profilers.profiler": ("Profiler",),
    "plkit.profilers.base": ("PassThroughProfiler",),
    "plkit.profilers.simple": ("SimpleProfiler",),
    "plkit.profilers.advanced": ("AdvancedProfiler",),
    "plkit.profilers.pytorch": ("PyTorchProfiler", "RegisterRecordFunction"),
}


@pytest.mark.parametrize("module", sorted(PATHS))
def test_lightning_module_paths_hold_lightnings_names(module: str) -> None:
    mod = importlib.import_module(module)
    assert [n for n in PATHS[module] if not hasattr(mod, n)] == []


def test_misconfiguration_is_caught_by_every_kind_of_except() -> None:
    for kind in (MisconfigurationException, ValueError, TypeError):
        with pytest.raises(kind):
            pl.Trainer(max_epochs=-5)


def test_a_device_that_is_not_there_is_a_misconfiguration() -> None:
    with pytest.raises(MisconfigurationException, match="devices=0"):
        pl.Trainer(accelerator="cpu", devices=0)


def test_plugins_take_a_precision_and_a_checkpoint_io() -> None:
    from plkit.plugins import DoublePrecision, TorchCheckpointIO

    io = TorchCheckpointIO()
    trainer = pl.Trainer(plugins=[DoublePrecision(), io], logger=False)
    assert trainer.precision == "64-true" and trainer.strategy.checkpoint_io is io
    with pytest.raises(MisconfigurationException, match="precision plugin or a CheckpointIO"):
        pl.Trainer(plugins=[object()])


def test_grad_norm_per_parameter_and_total() -> None:
    layer = torch.nn.Linear(3, 2)
    layer(torch.ones(4, 3)).sum().backward()
    norms = pl.utilities.grad_norm(layer, norm_type=2)
    assert list(norms) == ["grad_2.0_norm/weight", "grad_2.0_norm/bias", "grad_2.0_norm_total"]
    assert torch.allclose(norms["grad_2.0_norm/bias"], torch.tensor(8**0.5 * 2))
    total = torch.linalg.vector_norm(
        torch.stack([norms["grad_2.0_norm/weight"], norms["grad_2.0_norm/bias"]])
    )
    assert torch.allclose(norms["grad_2.0_norm_total"], total)


def test_a_compiled_module_trains_as_itself() -> None:
    from plkit.demos.boring_classes import BoringModel

    model = BoringModel()
    before = model.layer.weight.detach().clone()
    trainer = pl.Trainer(
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(torch.compile(model, backend="eager"))
    assert trainer.lightning_module is model and trainer.global_step == 2
    assert not torch.equal(before, model.layer.weight)
