"""The import direction between the four packages, checked by import-linter.

The contracts live in the root ``pyproject.toml``. These tests run them on the real tree, then
on a copy of the sources with a wrong-direction import planted, to show the check can fail::

    python -m pytest tests/lint/test_layers.py -q
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10; import-linter itself depends on tomli there
    import tomli as tomllib

pytest.importorskip("importlinter", reason="import-linter is installed by `nox -s lint`")

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("plcore", "placcel", "pllog", "plkit")
CONFIG = ROOT / "pyproject.toml"


def _contracts() -> list[dict[str, Any]]:
    """The import-linter contracts, read from the root pyproject.toml."""
    with CONFIG.open("rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def _contract_name(kind: str, source: str | None = None) -> str:
    """The name of the one contract of type ``kind`` (and forbidden ``source``)."""
    names = [
        c["name"]
        for c in _contracts()
        if c["type"] == kind and (source is None or c.get("source_modules") == [source])
    ]
    assert len(names) == 1, f"expected one {kind} contract for {source}, found {names}"
    return names[0]


def _lint_imports_exe() -> str:
    """The lint-imports script of this interpreter's environment (or the one on PATH)."""
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert found, "lint-imports not found; install import-linter"
    return found


def _lint_imports(config: Path, src_dirs: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    """Run lint-imports with only ``src_dirs`` on the path, so it analyses those trees."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(d) for d in src_dirs)}
    cmd = [_lint_imports_exe(), "--no-cache", "--no-logo", str(config)]
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def copied_tree(tmp_path: Path) -> Path:
    """A copy of the four packages' import trees and the contracts, in ``tmp_path``."""
    for name in PACKAGES:
        shutil.copytree(
            ROOT / "packages" / name / "src" / name,
            tmp_path / "src" / name,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copy(CONFIG, tmp_path / "pyproject.toml")
    return tmp_path


def _run_on_copy(tree: Path) -> subprocess.CompletedProcess:
    return _lint_imports(tree / "pyproject.toml", [tree / "src"], cwd=tree)


def test_real_tree_keeps_every_contract() -> None:
    src_dirs = [ROOT / "packages" / name / "src" for name in PACKAGES]
    result = _lint_imports(CONFIG, src_dirs, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(_contracts())} kept, 0 broken" in result.stdout


def test_clean_copy_keeps_every_contract(copied_tree: Path) -> None:
    # The baseline for the planted-import tests below: the copy itself is analysable and clean.
    result = _run_on_copy(copied_tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("package", "statement", "kind", "source"),
    [
        ("plcore", "import plkit", "forbidden", "plcore"),
        ("plcore", "import placcel", "forbidden", "plcore"),
        ("plcore", "import tensorboard", "forbidden", "plcore"),
        ("placcel", "import pllog", "forbidden", "placcel"),
        ("placcel", "from plcore import interfaces", "forbidden", "placcel"),
        ("pllog", "import placcel", "layers", None),
        ("pllog", "import plkit", "layers", None),
    ],
)
def test_wrong_direction_import_breaks_the_named_contract(
    copied_tree: Path, package: str, statement: str, kind: str, source: str | None
) -> None:
    planted = copied_tree / "src" / package / "_planted.py"
    planted.write_text(f'"""A wrong-direction import, planted by the test."""\n\n{statement}\n')
    result = _run_on_copy(copied_tree)
    assert result.returncode != 0, result.stdout
    assert f"{_contract_name(kind, source)} BROKEN" in result.stdout, result.stdout
    assert f"{package}._planted" in result.stdout, result.stdout
