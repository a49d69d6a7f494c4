"""``lightning.pytorch.utilities.exceptions``: the class plkit raises for a misconfiguration."""

from plcore.utilities.exceptions import MisconfigurationException

__all__ = ["MisconfigurationException"]


class _TunerExitException(Exception):
    """Raised by the tuner's finders to end the entry point right after tuning: the Trainer
    then tears down (teardown hooks, loggers "success") and returns None, as Lightning does."""
