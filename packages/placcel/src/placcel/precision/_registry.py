"""Turn the ``precision`` flag (``"16-mixed"``, ``16``, ``"bf16"`` …) into a Precision."""

from __future__ import annotations

import warnings
from typing import Any

from placcel.precision.double import DoublePrecision
from placcel.precision.half import HalfPrecision
from placcel.precision.mixed import MixedPrecision
from placcel.precision.precision import Precision

__all__ = ["PRECISION_NAMES", "normalize_precision", "precision_from_flag"]

PRECISION_NAMES = ("32-true", "64-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true")

# Short spellings Lightning 2.x still accepts, mapped to the canonical names.
_ALIASES: dict[Any, str] = {
    32: "32-true",
    "32": "32-true",
    64: "64-true",
    "64": "64-true",
    16: "16-mixed",
    "16": "16-mixed",
    "bf16": "bf16-mixed",
}


def normalize_precision(precision: Any) -> str:
    """Return the canonical name of a ``precision`` flag value.

    Args:
        precision: one of :data:`PRECISION_NAMES` or a short spelling (``32``, ``16``, ``"bf16"``).
    """
    if isinstance(precision, bool) or not isinstance(precision, (int, str)):
        raise TypeError(
            f"precision={precision!r} has type {type(precision).__name__}; write one of "
            f"{list(PRECISION_NAMES)}."
        )
    name = _ALIASES.get(precision, precision)
    if name not in PRECISION_NAMES:
        raise ValueError(
            f"precision={precision!r} is not supported; write one of {list(PRECISION_NAMES)} "
            "(or the short forms 32, 64, 16, 'bf16')."
        )
    if name != precision and str(precision)[:2] not in ("32", "64"):  # Lightning's note
        warnings.warn(
            f"`precision={precision}` is supported for historical reasons but its usage is "
            f"discouraged. Please set your precision to {name} instead!",
            UserWarning,
            stacklevel=3,
        )
    return name


def precision_from_flag(precision: Any, device_type: str) -> Precision:
    """Build the Precision for a flag value on a device type.

    Args:
        precision: a Precision instance (returned as is) or a flag value.
        device_type: ``"cpu"``, ``"cuda"`` or ``"mps"``, for autocast and the grad scaler.
    """
    if isinstance(precision, Precision):
        return precision
    name = normalize_precision(precision)
    if name == "32-true":
        return Precision()
    if name == "64-true":
        return DoublePrecision()
    if name in ("16-true", "bf16-true"):
        return HalfPrecision(name)
    if name == "16-mixed" and device_type == "cpu":  # Lightning falls back, with a warning
        warnings.warn(
            "You passed `Trainer(accelerator='cpu', precision='16-mixed')` but AMP with fp16 is "
            "not supported on CPU. Using `precision='bf16-mixed'` instead.",
            UserWarning,
            stacklevel=3,
        )
        name = "bf16-mixed"
    return MixedPrecision(name, device_type)
