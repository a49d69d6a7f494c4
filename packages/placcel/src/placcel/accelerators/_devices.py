"""Shared parsing of the ``devices`` flag: ints, ``"-1"``, ``"0,1"`` and lists of indices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from placcel.exceptions import ConfigurationError

__all__ = ["parse_device_indices"]


def _check_not_bool(devices: Any) -> None:
    # bool is a subclass of int; devices=True is almost certainly a typo for devices=1.
    if isinstance(devices, bool):
        raise TypeError(f"devices={devices!r} is a bool; write a number such as devices=1.")


def _indices_from_string(devices: str) -> int | list[int]:
    """``"2"`` is a count, ``"0,1"`` and ``"1,"`` are lists of indices (Lightning's reading)."""
    text = devices.strip()
    if "," in text:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not all(_is_int(part) for part in parts):
            raise ValueError(
                f"devices={devices!r} is not a list of device indices; write e.g. devices='0,1'."
            )
        return [int(part) for part in parts]
    if not _is_int(text):
        raise ValueError(
            f"devices={devices!r} is not understood; write a count (devices=2), a list of indices "
            "(devices=[0, 1] or devices='0,1'), devices=-1 for all, or devices='auto'."
        )
    return int(text)


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def parse_device_indices(devices: Any, available: int, kind: str) -> list[int]:
    """Resolve a ``devices`` flag to a list of device indices among ``available`` devices.

    Args:
        devices: ``"auto"``, ``-1``, a positive count, a list of indices or a string of either.
        available: how many devices of this kind exist.
        kind: the hardware name used in error messages (``"CUDA"``).
    """
    _check_not_bool(devices)
    if isinstance(devices, str):
        devices = "auto" if devices.strip() == "auto" else _indices_from_string(devices)
    if devices == "auto" or devices == -1:
        return list(range(available))
    if isinstance(devices, int):
        return _indices_from_count(devices, available, kind)
    if isinstance(devices, Sequence):
        return _check_indices(list(devices), available, kind)
    raise TypeError(
        f"devices={devices!r} has type {type(devices).__name__}; write an int, a list of ints, "
        "a string such as '0,1', or 'auto'."
    )


def _indices_from_count(count: int, available: int, kind: str) -> list[int]:
    if count <= 0:
        raise ConfigurationError(
            f"devices={count} is not valid; write a positive count, -1 for all {kind} devices, "
            "or 'auto'."
        )
    if count > available:
        raise ConfigurationError(
            f"devices={count} asks for {count} {kind} devices but only {available} exist"
            f"{_listing(available)}; write devices={available} or fewer."
        )
    return list(range(count))


def _check_indices(indices: list[Any], available: int, kind: str) -> list[int]:
    if not indices:
        raise ValueError("devices=[] selects no device; list at least one index, e.g. devices=[0].")
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"devices={indices!r} must list integer device indices.")
    if len(set(indices)) != len(indices):
        raise ValueError(f"devices={indices!r} lists a device twice; list each index once.")
    missing = [index for index in indices if not 0 <= index < available]
    if missing:
        raise ConfigurationError(
            f"devices={indices!r} asks for {kind} device(s) {missing} but only {available} exist"
            f"{_listing(available)}."
        )
    return indices


def _listing(available: int) -> str:
    return f" (indices {list(range(available))})" if available else ""
