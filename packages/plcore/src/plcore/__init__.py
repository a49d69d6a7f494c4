"""plcore: the Lightning programming model's core, on torch alone.

``LightningModule``, ``LightningDataModule``, ``Callback``, the hook table, ``self.log``
bookkeeping and checkpoint files. Install only ``plcore`` to use these in a loop of your own;
install ``plkit`` for the Trainer.
"""

from plcore.__about__ import __version__
from plcore.callback import Callback
from plcore.checkpoint import CheckpointError, UnsafeCheckpointError
from plcore.datamodule import LightningDataModule
from plcore.module import LightningModule
from plcore.optimizer import LightningOptimizer
from plcore.utilities.seed import seed_everything

__all__ = [
    "Callback",
    "CheckpointError",
    "LightningDataModule",
    "LightningModule",
    "LightningOptimizer",
    "UnsafeCheckpointError",
    "__version__",
    "seed_everything",
]
