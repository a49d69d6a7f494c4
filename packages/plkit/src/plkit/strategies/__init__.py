"""``lightning.pytorch.strategies``: pass one as ``Trainer(strategy=...)``."""

from placcel import DDPStrategy, FSDPStrategy, SingleDeviceStrategy, Strategy

__all__ = ["DDPStrategy", "FSDPStrategy", "SingleDeviceStrategy", "Strategy"]
