"""Package namespaces whose members load on first use (PEP 562), for optional features.

A package ``__init__`` names where each lazy member lives; the module holding it is imported the
first time the name is read (``pkg.Name``, ``from pkg import Name``), and the value is then stored
on the package so later reads cost nothing::

    from typing import TYPE_CHECKING

    from plcore.utilities.lazy import lazy_exports

    if TYPE_CHECKING:  # type checkers and IDEs see the names as plain imports
        from mypkg.feature import Feature

    __getattr__, __dir__ = lazy_exports(__name__, {"Feature": "mypkg.feature"})
    __all__ = ["Feature"]

plkit and pllog use it for callbacks, loggers, progress bars, the tuner and plugins, so that
``import plkit`` does not import them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the module named ``package``.

    ``exports`` maps each lazy attribute to the absolute name of the module that defines it
    (under the same attribute name). A missing attribute that names a submodule imports it
    (``pkg.sub`` works without ``import pkg.sub``, as if the package had imported it); any other
    raises the usual ``AttributeError``.
    """
    table = dict(exports)

    def __getattr__(name: str) -> Any:
        where = table.get(name)
        if where is None:
            # A submodule read as an attribute (``pkg.sub.Name`` without ``import pkg.sub``), as
            # when the package imported it eagerly.
            if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}"):
                return importlib.import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
