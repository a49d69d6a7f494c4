"""No package reads or writes another package's private names (issue 16: the seam is public).

For each of the four packages the AST gives the private names (one leading underscore, not a
dunder) it defines (see :func:`definitions`). A use of such a name in another package —
``obj._name`` read or written, ``getattr(obj, "_name")`` and its kin, ``from pkg._mod import
x``, ``from pkg.mod import _x`` — fails this test, unless the using package defines the same
name itself (then the use is presumed to be its own). Attributes of ``self`` / ``cls`` are
always the class's own. Third-party privates (torch's) are not this test's business.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("plcore", "placcel", "pllog", "plkit")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _sources(package: str, root: Path = ROOT) -> Iterable[tuple[Path, ast.Module]]:
    for path in sorted((root / "packages" / package / "src" / package).rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _const_private(node: ast.Call) -> str | None:
    """The private name in ``getattr(obj, "_x")`` / ``setattr`` / ``hasattr`` / ``delattr``."""
    if (
        isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
        and _private(node.args[1].value)
    ):
        return node.args[1].value
    return None


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def definitions(trees: Iterable[ast.Module]) -> tuple[set[str], set[str]]:
    """A package's private names: ``strict`` ones (functions, classes, names it binds,
    attributes of ``self`` / ``cls``) and ``loose`` ones (attributes it sets on other objects,
    ``obj._x = ...``): a loose name is the package's only if no other package defines it
    strictly."""
    strict: set[str] = set()
    loose: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                strict.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                (strict if _is_self(node.value) else loose).add(node.attr)
            elif isinstance(node, ast.Call) and (name := _const_private(node)):
                if _is_self(node.args[0]):
                    strict.add(name)
                elif isinstance(node.func, ast.Name) and node.func.id == "setattr":
                    loose.add(name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                strict.add(node.id)
            elif isinstance(node, ast.arg):
                strict.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    strict.add((alias.asname or alias.name).split(".")[0])
    return {n for n in strict if _private(n)}, {n for n in loose if _private(n)}


def owned_names(trees_by_package: dict[str, list[ast.Module]]) -> dict[str, set[str]]:
    """Each package's private names (strict ones, and loose ones no other package defines)."""
    found = {pkg: definitions(trees) for pkg, trees in trees_by_package.items()}
    owned = {}
    for pkg, (strict, loose) in found.items():
        elsewhere = set().union(*(s for other, (s, _) in found.items() if other != pkg))
        owned[pkg] = strict | (loose - elsewhere)
    return owned


def violations(
    package: str, trees: list[tuple[str, ast.Module]], owned: dict[str, set[str]]
) -> list[str]:
    """``file:line name (owner)`` for each use of another package's private name."""
    own = owned[package]
    others = {name: other for other, names in owned.items() if other != package for name in names}
    found = []
    for where, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                top, *parts = node.module.split(".")
                if top in owned and top != package:
                    if any(_private(p) for p in parts):
                        found.append(f"{where}:{node.lineno} {node.module} (a private module)")
                    for alias in node.names:
                        if _private(alias.name):
                            found.append(f"{where}:{node.lineno} {alias.name} ({top})")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    top, *parts = alias.name.split(".")
                    if top in owned and top != package and any(_private(p) for p in parts):
                        found.append(f"{where}:{node.lineno} {alias.name} (a private module)")
            elif isinstance(node, ast.Call) and (name := _const_private(node)):
                if _is_self(node.args[0]):
                    continue
                if name in others and name not in own:
                    found.append(
                        f"{where}:{node.lineno} {name} ({others[name]}, by {node.func.id})"
                    )
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                if _is_self(node.value):
                    continue
                if node.attr in others and node.attr not in own:
                    found.append(f"{where}:{node.lineno} {node.attr} ({others[node.attr]})")
    return sorted(
        found,
        key=lambda f: (f.split(" ")[0].rsplit(":", 1)[0], int(f.split(" ")[0].rsplit(":", 1)[1])),
    )


def test_no_package_uses_another_packages_private_names() -> None:
    sources = {pkg: list(_sources(pkg)) for pkg in PACKAGES}
    owned = owned_names({pkg: [tree for _, tree in items] for pkg, items in sources.items()})
    found = []
    for pkg, items in sources.items():
        trees = [(str(path.relative_to(ROOT)), tree) for path, tree in items]
        found += violations(pkg, trees, owned)
    assert not found, "private names used across packages:\n" + "\n".join(found)


def test_the_check_finds_a_violation() -> None:
    """The lint itself: a synthetic plkit file that reaches into plcore is caught, an own
    private name and ``self._x`` are not."""
    plcore = ast.parse(
        "class M:\n    def __init__(self):\n        self._log_ctx = 1\n"
        "def save(obj):\n    obj._flag = True\n"
    )
    plkit = ast.parse(
        "from plcore._hparams import x\n"
        "from plcore.metrics import _merge\n"
        "def f(model):\n"
        "    model._log_ctx.fx = 'a'\n"
        "    _mine = 1\n"
        "    model._mine\n"
        "    self._log_ctx\n"
        "    getattr(model, '_log_ctx', None)\n"
        "    getattr(model, '_flag', False)\n"
        "    model._other = 1\n"
    )
    owned = owned_names({"plcore": [plcore], "plkit": [plkit]})
    found = violations("plkit", [("f.py", plkit)], owned)
    assert found == [
        "f.py:1 plcore._hparams (a private module)",
        "f.py:2 _merge (plcore)",
        "f.py:4 _log_ctx (plcore)",
        "f.py:8 _log_ctx (plcore, by getattr)",
        "f.py:9 _flag (plcore, by getattr)",
    ]
