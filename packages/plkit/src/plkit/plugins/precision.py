"""``lightning.pytorch.plugins.precision``: what ``Trainer(precision=...)`` builds."""

from placcel import DoublePrecision, HalfPrecision, MixedPrecision, Precision

__all__ = ["DoublePrecision", "HalfPrecision", "MixedPrecision", "Precision"]
