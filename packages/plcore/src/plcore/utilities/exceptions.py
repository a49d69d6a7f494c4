"""The exception class Lightning users catch, under Lightning's name.

``MisconfigurationException`` is what plkit raises where Lightning raises it: a Trainer flag out
of range, a ``configure_optimizers`` result it cannot use, a module without ``training_step``, a
fit without a train loader. ``except MisconfigurationException`` catches it as under Lightning.

The class is also a ``ValueError`` and a ``TypeError``, so code written against earlier plkit
releases (which raised those) keeps catching it; see docs/differences.md.
"""

from __future__ import annotations

__all__ = ["MisconfigurationException"]


class MisconfigurationException(ValueError, TypeError):
    """A setting, argument or hook result that cannot work; the message says what to change."""
