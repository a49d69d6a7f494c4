"""``lightning.pytorch.core.module``."""

from plcore import LightningModule

__all__ = ["LightningModule"]
