"""Reading integer environment variables with errors that name the variable."""

from __future__ import annotations

import os

__all__ = ["env_int"]


def env_int(name: str, default: int | None = None) -> int:
    """Return ``int(os.environ[name])``, or ``default`` when it is unset.

    Args:
        name: the environment variable.
        default: the value when unset; ``None`` makes an unset variable an error.
    """
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ValueError(f"environment variable {name} is not set; set it to an integer.")
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"environment variable {name}={value!r} is not an integer; set it to e.g. {name}=0."
        ) from None
