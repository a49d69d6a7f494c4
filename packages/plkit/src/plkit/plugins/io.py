"""``lightning.pytorch.plugins.io``: how checkpoint files are written, read and removed."""

from plcore.checkpoint import CheckpointIO, TorchCheckpointIO

__all__ = ["CheckpointIO", "TorchCheckpointIO"]
