"""``lightning.pytorch.strategies``: pass one as ``Trainer(strategy=...)``."""

from placcel import DDPStrategy, SingleDeviceStrategy, Strategy

__all__ = ["DDPStrategy", "SingleDeviceStrategy", "Strategy"]
