"""The exception classes Lightning users catch, under Lightning's names.

``MisconfigurationException`` is what plkit raises for a Trainer flag, a hook's return value or a
callback argument that cannot work: ``except MisconfigurationException`` catches it as under
Lightning. The concrete error raised is one of its subclasses that are also a ``ValueError`` or a
``TypeError`` (:class:`MisconfigurationValueError`, :class:`MisconfigurationTypeError`), so code
written for either style of ``except`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "MisconfigurationException",
    "MisconfigurationTypeError",
    "MisconfigurationValueError",
]


class MisconfigurationException(Exception):
    """A setting, argument or hook result that cannot work; the message says what to change."""


class MisconfigurationValueError(MisconfigurationException, ValueError):
    """A misconfiguration by value (a flag out of range, an unknown name)."""


class MisconfigurationTypeError(MisconfigurationException, TypeError):
    """A misconfiguration by type (a hook returned the wrong kind of object)."""
