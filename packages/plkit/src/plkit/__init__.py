"""plkit: the Lightning programming model, lean.

``import plkit as pl`` gives the names a Lightning script uses::

    import plkit as pl

    class Model(pl.LightningModule): ...
    trainer = pl.Trainer(max_epochs=10)
    trainer.fit(Model(), datamodule=Data())
"""

from plcore import Callback, LightningDataModule, LightningModule, seed_everything
from plkit import callbacks, loggers
from plkit.__about__ import __version__
from plkit.trainer import Trainer

__all__ = [
    "Callback",
    "LightningDataModule",
    "LightningModule",
    "Trainer",
    "__version__",
    "callbacks",
    "loggers",
    "seed_everything",
]
