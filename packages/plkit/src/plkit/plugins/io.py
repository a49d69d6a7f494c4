"""``lightning.pytorch.plugins.io``: how checkpoint files are written, read and removed."""

from plcore.async_checkpoint import AsyncCheckpointIO
from plcore.checkpoint import CheckpointIO, TorchCheckpointIO

__all__ = ["AsyncCheckpointIO", "CheckpointIO", "TorchCheckpointIO"]
