"""What importing each package loads, and what an isolated install contains.

Each import runs in a fresh interpreter, so nothing this test process already imported counts.
nox runs this file beside each package's own tests and sets two variables: ``PLKIT_PACKAGE``,
the package the run is about (the import checks cover only it), and ``PLKIT_ISOLATED=1`` when
that package is installed alone (``nox -s plcore`` and so on), which adds checks on the install::

    python -m pytest tests/lint/test_isolation.py -q            # every installed package
    PLKIT_PACKAGE=plcore PLKIT_ISOLATED=1 python -m pytest tests/lint/test_isolation.py -q
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each package and the siblings it may import (its declared dependencies).
DEPS: dict[str, frozenset[str]] = {
    "plcore": frozenset(),
    "placcel": frozenset(),
    "pllog": frozenset({"plcore"}),
    "plkit": frozenset({"plcore", "placcel", "pllog"}),
}
# Loaded only inside the classes that use them (a logger, a progress bar), never at import.
# fsspec: only once a remote path is seen; yaml: when a file is read or written.
OPTIONAL = ("tensorboard", "tqdm", "fsspec", "yaml", "mlflow", "wandb", "comet_ml", "jsonargparse")
# Modules that are the optional feature itself: importing them is using it (``plkit.cli`` needs
# jsonargparse, as Lightning's does), so the walk below leaves them out.
FEATURE_MODULES = ("plkit.cli", "plkit._cli_parser")


def _package() -> str | None:
    """The package this run is about (``PLKIT_PACKAGE``), or None for all of them."""
    name = os.environ.get("PLKIT_PACKAGE") or None
    if name is not None and name not in DEPS:
        raise ValueError(f"PLKIT_PACKAGE={name!r}: write one of {sorted(DEPS)} or unset it")
    return name


def _isolated() -> str:
    """The package installed alone; skips the test unless ``PLKIT_ISOLATED=1``."""
    if os.environ.get("PLKIT_ISOLATED", "") in ("", "0"):
        pytest.skip("runs in an isolated nox session (PLKIT_ISOLATED=1)")
    name = _package()
    if name is None:
        raise ValueError("PLKIT_ISOLATED=1 needs PLKIT_PACKAGE=<the package installed alone>")
    return name


def _require_installed(package: str) -> None:
    chosen = _package()
    if chosen is not None and package != chosen:
        pytest.skip(f"{package} is checked in its own run, this one is about {chosen}")
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed here")


# Imports the package and then every module in it (private ones too, not ``__main__``), so a
# module-level import anywhere in the package shows, not only what ``__init__`` pulls in.
_IMPORT_ALL = """
import importlib, pkgutil, sys
import {package} as root
for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
    if not info.name.endswith("__main__") and info.name not in {features!r}:
        importlib.import_module(info.name)
print(*sorted({{name.split(".")[0] for name in sys.modules}}))
"""


def _loaded_by(code: str) -> frozenset[str]:
    """Top-level names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tempfile.gettempdir(),  # away from the checkout: only the install is importable
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{code}\nfailed:\n{result.stderr}"
    return frozenset(result.stdout.split())


@functools.cache
def _loaded_after_import(package: str) -> frozenset[str]:
    return _loaded_by(_IMPORT_ALL.format(package=package, features=FEATURE_MODULES))


@functools.cache
def _loaded_by_torch() -> frozenset[str]:
    # Some torch releases import tqdm themselves (torch.hub does); a package answers only for
    # what it adds on top of torch.
    return _loaded_by("import sys, torch; print(*{name.split('.')[0] for name in sys.modules})")


@pytest.mark.parametrize("package", sorted(DEPS))
def test_import_loads_no_optional_dependency(package: str) -> None:
    _require_installed(package)
    added = _loaded_after_import(package) - _loaded_by_torch()
    assert not added & set(OPTIONAL), f"importing {package} loaded {sorted(added & set(OPTIONAL))}"


@pytest.mark.parametrize("package", sorted(DEPS))
def test_import_loads_only_declared_siblings(package: str) -> None:
    _require_installed(package)
    undeclared = set(DEPS) - DEPS[package] - {package}
    loaded = _loaded_after_import(package)
    assert not loaded & undeclared, f"importing {package} loaded {sorted(loaded & undeclared)}"


def test_isolated_install_holds_only_declared_siblings() -> None:
    isolated = _isolated()
    wanted = DEPS[isolated] | {isolated}
    present = {name for name in DEPS if importlib.util.find_spec(name) is not None}
    assert present == wanted, (
        f"{isolated} alone should see {sorted(wanted)}, sees {sorted(present)}"
    )


def test_isolated_install_is_the_built_package_not_the_source_tree() -> None:
    isolated = _isolated()
    spec = importlib.util.find_spec(isolated)
    assert spec is not None and spec.origin is not None
    source_tree = ROOT / "packages" / isolated / "src"
    assert not Path(spec.origin).resolve().is_relative_to(source_tree), spec.origin


# Parts of torch that cost a lot to import and serve one feature each: loaded when it is used.
HEAVY_TORCH = (
    "torch.utils.flop_counter",  # the model summary's FLOPs column (~60 ms to import)
    "torch.distributed.checkpoint",  # sharded FSDP checkpoints
    "torch.distributed.fsdp",
    "torch.distributed._composable.fsdp",
)

_HEAVY_TORCH_PROBE = """
import sys, torch
before = set(sys.modules)
import plkit
print(*sorted(m for m in set(sys.modules) - before if m.startswith({heavy!r})))
"""


def test_import_plkit_loads_no_heavy_torch_module() -> None:
    _require_installed("plkit")
    loaded = _loaded_by(_HEAVY_TORCH_PROBE.format(heavy=HEAVY_TORCH))
    assert not loaded, f"import plkit loaded {sorted(loaded)}; import them where they are used"
