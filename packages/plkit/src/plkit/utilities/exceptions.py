"""``lightning.pytorch.utilities.exceptions``: the class plkit raises for a misconfiguration."""

from plcore.utilities.exceptions import MisconfigurationException

__all__ = ["MisconfigurationException"]
