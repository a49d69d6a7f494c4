"""``lightning.pytorch.core.optimizer``: what ``self.optimizers()`` returns."""

from plcore import LightningOptimizer

__all__ = ["LightningOptimizer"]
