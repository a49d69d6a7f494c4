"""``lightning.pytorch.utilities.warnings``: the warning classes to filter on."""

from plcore.utilities.warnings import PossibleUserWarning

__all__ = ["PossibleUserWarning"]
