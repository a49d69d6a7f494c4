"""Lightning's public paths for strategies, accelerators and plugins (precision, environments,
checkpoint IO), core and trainer: the names exist, and the classes a user builds work in fit."""

import torch
from harness import T, imp
from models import Net, bare_trainer, loader

NAMES = {
    "strategies": ("Strategy", "SingleDeviceStrategy", "DDPStrategy"),
    "accelerators": ("Accelerator", "CPUAccelerator", "CUDAAccelerator", "MPSAccelerator"),
    "plugins": (
        "Precision",
        "MixedPrecision",
        "DoublePrecision",
        "HalfPrecision",
        "CheckpointIO",
        "TorchCheckpointIO",
    ),
    "plugins.precision": ("Precision", "MixedPrecision", "DoublePrecision", "HalfPrecision"),
    "plugins.environments": (
        "ClusterEnvironment",
        "LightningEnvironment",
        "SLURMEnvironment",
        "TorchElasticEnvironment",
    ),
    "plugins.io": ("CheckpointIO", "TorchCheckpointIO"),
    "core": ("LightningModule", "LightningDataModule"),
    "trainer": ("Trainer",),
}


def main() -> None:
    for module, names in NAMES.items():
        mod = imp(module)
        T.note(module, [name for name in names if hasattr(mod, name)])
    accel = imp("accelerators").CPUAccelerator()
    strategy = imp("strategies").SingleDeviceStrategy(device=torch.device("cpu"), accelerator=accel)
    trainer = bare_trainer(
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=1,
        strategy=strategy,
        plugins=[imp("plugins").TorchCheckpointIO()],
    )
    T.note("strategy", type(trainer.strategy).__name__)
    T.note("accelerator", type(trainer.accelerator).__name__)
    model = Net()
    T.fit(trainer, model, loader(), loader(32, seed=1))
    T.note("on_gpu", model.on_gpu)
    T.final(model)
