"""``lightning.pytorch.plugins``: precision and checkpoint IO, for ``Trainer(plugins=[...])``.

::

    from plkit.plugins import MixedPrecision, TorchCheckpointIO

    trainer = Trainer(plugins=[MixedPrecision("bf16-mixed", "cpu"), TorchCheckpointIO()])
"""

from typing import TYPE_CHECKING

from plcore.utilities.lazy import lazy_exports

if TYPE_CHECKING:
    from plkit.plugins.io import AsyncCheckpointIO, CheckpointIO, TorchCheckpointIO
    from plkit.plugins.precision import DoublePrecision, HalfPrecision, MixedPrecision, Precision

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AsyncCheckpointIO": "plkit.plugins.io",
        "CheckpointIO": "plkit.plugins.io",
        "TorchCheckpointIO": "plkit.plugins.io",
        "DoublePrecision": "plkit.plugins.precision",
        "HalfPrecision": "plkit.plugins.precision",
        "MixedPrecision": "plkit.plugins.precision",
        "Precision": "plkit.plugins.precision",
    },
)

__all__ = [
    "AsyncCheckpointIO",
    "CheckpointIO",
    "DoublePrecision",
    "HalfPrecision",
    "MixedPrecision",
    "Precision",
    "TorchCheckpointIO",
]
