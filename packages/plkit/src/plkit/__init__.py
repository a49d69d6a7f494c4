"""plkit: the Lightning programming model, lean.

``import plkit as pl`` gives the names a Lightning script uses::

    import plkit as pl

    class Model(pl.LightningModule): ...
    trainer = pl.Trainer(max_epochs=10)
    trainer.fit(Model(), datamodule=Data())
"""

from plcore import Callback, LightningDataModule, LightningModule, seed_everything
from plcore.utilities.lazy import lazy_exports
from plkit import _setup, accelerators, callbacks, core, loggers, plugins, strategies, utilities
from plkit.__about__ import __version__
from plkit._logo import cli_lightning_logo
from plkit.trainer import Trainer

# As under Lightning: plkit's INFO lines (``Seed set to 0``, the device lines) go to stderr from
# the import on, unless the application configured logging first.
_setup.attach_log_handler()

# Subpackages not imported above (``pl.tuner``, ``pl.profilers``) import when first read.
__getattr__, __dir__ = lazy_exports(__name__, {})

__all__ = [
    "Callback",
    "LightningDataModule",
    "LightningModule",
    "Trainer",
    "__version__",
    "accelerators",
    "callbacks",
    "cli_lightning_logo",
    "core",
    "loggers",
    "plugins",
    "seed_everything",
    "strategies",
    "utilities",
]
