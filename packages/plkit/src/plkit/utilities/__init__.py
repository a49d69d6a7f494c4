"""``lightning.pytorch.utilities``'s public names, for ``from plkit.utilities import ...``.

::

    from plkit.utilities import grad_norm, rank_zero_only
    from plkit.utilities.exceptions import MisconfigurationException
"""

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
from plkit.utilities.enums import GradClipAlgorithmType, LightningEnum


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
