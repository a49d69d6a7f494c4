"""``lightning.pytorch.utilities.enums``: Lightning's string enums.

A :class:`LightningEnum` member is a ``str`` (its value) that compares equal to its value or
its name's value in any case (``TrainerFn.FITTING == "FIT"``), hashes as its lower-case value,
and prints as an enum member (``str(TrainerStatus.FINISHED)`` is ``"TrainerStatus.FINISHED"``),
as Lightning's do.
"""

from __future__ import annotations

import warnings
from enum import Enum
from typing import Literal, TypeVar

__all__ = ["GradClipAlgorithmType", "LightningEnum"]

_E = TypeVar("_E", bound="LightningEnum")


class LightningEnum(str, Enum):
    """A string enum whose members compare equal to strings, ignoring case."""

    @classmethod
    def from_str(cls: type[_E], value: str, source: Literal["key", "value", "any"] = "key") -> _E:
        """The member named ``value`` (ignoring case; ``source="key"``), or whose value is
        ``value`` (``"value"``), or either, names first (``"any"``); else ``ValueError``."""
        if source in ("key", "any"):
            for name, member in cls.__members__.items():
                if name.lower() == value.lower():
                    return member
        if source in ("value", "any"):
            for member in cls.__members__.values():
                if member == value:
                    return member
        raise ValueError(
            f"Invalid match: expected one of {cls._allowed_matches(source)}, but got {value}."
        )

    @classmethod
    def try_from_str(
        cls: type[_E], value: str, source: Literal["key", "value", "any"] = "key"
    ) -> _E | None:
        """:meth:`from_str`, or ``None`` with a warning when nothing matches."""
        try:
            return cls.from_str(value, source)
        except ValueError:
            warnings.warn(
                UserWarning(
                    f"Invalid string: expected one of {cls._allowed_matches(source)}, but got"
                    f" {value}."
                ),
                stacklevel=2,
            )
        return None

    @classmethod
    def _allowed_matches(cls, source: str) -> list[str]:
        names = list(cls.__members__)
        values = [member.value for member in cls.__members__.values()]
        return names if source == "key" else values if source == "value" else names + values

    def __eq__(self, other: object) -> bool:
        other = other.value if isinstance(other, Enum) else other
        return bool(self.value.lower() == str(other).lower())

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.value.lower())


class GradClipAlgorithmType(LightningEnum):
    """The values of ``Trainer(gradient_clip_algorithm=...)``."""

    VALUE = "value"
    NORM = "norm"

    @staticmethod
    def supported_type(value: str) -> bool:
        """Whether ``value`` names an algorithm."""
        return any(member.value == value for member in GradClipAlgorithmType)

    @staticmethod
    def supported_types() -> list[str]:
        """The algorithms' names."""
        return [member.value for member in GradClipAlgorithmType]
