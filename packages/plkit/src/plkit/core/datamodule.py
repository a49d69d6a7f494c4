"""``lightning.pytorch.core.datamodule``."""

from plcore import LightningDataModule

__all__ = ["LightningDataModule"]
