"""``lightning.pytorch.plugins``: precision and checkpoint IO, for ``Trainer(plugins=[...])``.

::

    from plkit.plugins import MixedPrecision, TorchCheckpointIO

    trainer = Trainer(plugins=[MixedPrecision("bf16-mixed", "cpu"), TorchCheckpointIO()])
"""

from plkit.plugins.io import AsyncCheckpointIO, CheckpointIO, TorchCheckpointIO
from plkit.plugins.precision import DoublePrecision, HalfPrecision, MixedPrecision, Precision

__all__ = [
    "AsyncCheckpointIO",
    "CheckpointIO",
    "DoublePrecision",
    "HalfPrecision",
    "MixedPrecision",
    "Precision",
    "TorchCheckpointIO",
]
