"""Precisions: ``"32-true"``, ``"64-true"``, ``"16-mixed"``/``"bf16-mixed"``, ``"16-true"``/``"bf16-true"``."""

from placcel.precision._registry import PRECISION_NAMES, normalize_precision, precision_from_flag
from placcel.precision.double import DoublePrecision
from placcel.precision.half import HalfPrecision
from placcel.precision.mixed import MixedPrecision
from placcel.precision.precision import Precision

__all__ = [
    "PRECISION_NAMES",
    "DoublePrecision",
    "HalfPrecision",
    "MixedPrecision",
    "Precision",
    "normalize_precision",
    "precision_from_flag",
]
