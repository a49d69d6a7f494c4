"""The ``<save_dir>/<name>/version_<N>`` folder scheme shared by the TensorBoard and CSV loggers."""

from __future__ import annotations

import os
from typing import Any

from plcore.utilities import cloud_io

__all__ = ["check_version", "next_version", "resolve_root_dir", "version_folder"]

_PREFIX = "version_"


def check_version(version: Any) -> None:
    """Raise TypeError unless ``version`` is None, an int >= 0 or a non-empty string.

    Args:
        version: the ``version`` argument a logger was given.
    """
    ok = version is None or (isinstance(version, str) and version != "")
    ok = ok or (isinstance(version, int) and not isinstance(version, bool) and version >= 0)
    if not ok:
        raise TypeError(
            f"`version` must be None (next free number), an int >= 0 or a non-empty string, "
            f"got {version!r}."
        )


def resolve_root_dir(save_dir: str | os.PathLike[str], name: str | None) -> str:
    """``save_dir/name`` (``save_dir/`` when ``name`` is empty or None, as Lightning joins it);
    ``~``/``$VAR`` expanded.

    Args:
        save_dir: where the logger writes.
        name: the experiment name.
    """
    root = os.path.join(os.fspath(save_dir), name or "")
    return os.path.expandvars(os.path.expanduser(root))


def next_version(root_dir: str) -> int:
    """One past the largest ``version_<int>`` folder in ``root_dir``; 0 when there is none.

    Args:
        root_dir: the folder holding the version folders (it may not exist yet).
    """
    try:
        entries = cloud_io.listdir(root_dir)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    versions = [
        int(entry[len(_PREFIX) :])
        for entry in entries
        if entry.startswith(_PREFIX)
        and entry[len(_PREFIX) :].isdigit()
        and cloud_io.isdir(os.path.join(root_dir, entry))
    ]
    return max(versions) + 1 if versions else 0


def version_folder(version: int | str) -> str:
    """The folder name of ``version``: ``version_<N>`` for an int, a string used as is.

    Args:
        version: the resolved version.
    """
    return version if isinstance(version, str) else f"{_PREFIX}{version}"
