"""``lightning.pytorch.utilities``'s public names, for ``from plkit.utilities import ...``.

::

    from plkit.utilities import grad_norm, rank_zero_only
    from plkit.utilities.exceptions import MisconfigurationException
"""

from enum import Enum

from plcore.utilities import (
    AttributeDict,
    apply_to_collection,
    grad_norm,
    move_data_to_device,
    rank_zero_debug,
    rank_zero_deprecation,
    rank_zero_info,
    rank_zero_only,
    rank_zero_warn,
    seed_everything,
)
from plcore.utilities.warnings import PossibleUserWarning
from plkit.loops._data import CombinedLoader


class LightningEnum(str, Enum):
    """A string enum whose members compare equal to their values, case-insensitively."""

    @classmethod
    def from_str(cls, value: str) -> "LightningEnum | None":
        """The member whose value (or name) is ``value``, ignoring case; None when none is."""
        for member in cls:
            if value.lower() in (member.value.lower(), member.name.lower()):
                return member
        return None

    def __eq__(self, other: object) -> bool:
        other = other.value if isinstance(other, Enum) else str(other)
        return self.value.lower() == other.lower()

    def __hash__(self) -> int:
        return hash(self.value.lower())


class GradClipAlgorithmType(LightningEnum):
    """The values of ``Trainer(gradient_clip_algorithm=...)``."""

    VALUE = "value"
    NORM = "norm"

    @staticmethod
    def supported_type(value: str) -> bool:
        """Whether ``value`` names an algorithm."""
        return value.lower() in ("value", "norm")

    @staticmethod
    def supported_types() -> list[str]:
        """The algorithms' names."""
        return [member.value for member in GradClipAlgorithmType]


def disable_possible_user_warnings(module: str = "") -> None:
    """Ignore every ``PossibleUserWarning`` (from ``module`` only, when given)."""
    import warnings

    warnings.filterwarnings("ignore", category=PossibleUserWarning, module=module)


__all__ = [
    "AttributeDict",
    "CombinedLoader",
    "GradClipAlgorithmType",
    "LightningEnum",
    "apply_to_collection",
    "disable_possible_user_warnings",
    "grad_norm",
    "move_data_to_device",
    "rank_zero_debug",
    "rank_zero_deprecation",
    "rank_zero_info",
    "rank_zero_only",
    "rank_zero_warn",
    "seed_everything",
]
