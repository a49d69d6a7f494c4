"""placcel's error for a device, strategy or precision setting that cannot work here.

placcel sits below plcore and cannot raise plcore's ``MisconfigurationException``; it raises
:class:`ConfigurationError` where Lightning raises that class, and plkit's Trainer re-raises it
as ``MisconfigurationException`` (one translation, at the one call into placcel's connector).
:class:`RendezvousError` says which address and port the ranks failed to meet at.
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "RendezvousError"]


class ConfigurationError(ValueError):
    """A device or accelerator setting that cannot work on this machine; the message says why."""


class RendezvousError(RuntimeError):
    """The ranks did not meet at the main address and port in time; the message says where."""
