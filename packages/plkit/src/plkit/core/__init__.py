"""``lightning.pytorch.core``: the LightningModule and LightningDataModule."""

from plcore import LightningDataModule, LightningModule

__all__ = ["LightningDataModule", "LightningModule"]
