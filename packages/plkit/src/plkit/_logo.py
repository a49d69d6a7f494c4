"""``cli_lightning_logo``: the banner a command-line entry point prints first."""

from __future__ import annotations

__all__ = ["cli_lightning_logo"]

_LOGO = r"""
        _ _    _ _
  _ __ | | | _(_) |_
 | '_ \| | |/ / | __|
 | |_) | |   <| | |_
 | .__/|_|_|\_\_|\__|
 |_|
"""


def cli_lightning_logo() -> None:
    """Print plkit's banner (in magenta, with a blank line either side)."""
    print()
    print("\033[0;35m" + _LOGO + "\033[0m")
    print()
