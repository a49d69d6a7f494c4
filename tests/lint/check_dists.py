"""Check built distributions: each carries its LICENSE, its ``py.typed`` marker and classifiers.

    python tests/lint/check_dists.py dist/*.whl dist/*.tar.gz

Run by ``nox -s dist`` after ``twine check``; exits non-zero naming every problem found.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

REQUIRED_CLASSIFIERS = ("License :: OSI Approved :: Apache Software License", "Typing :: Typed")


def _wheel(path: Path) -> list[str]:
    problems = []
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        package = path.name.split("-")[0]
        if f"{package}/py.typed" not in names:
            problems.append(f"{path.name}: no {package}/py.typed")
        if not any(n.endswith("LICENSE") and ".dist-info/" in n for n in names):
            problems.append(f"{path.name}: no LICENSE in .dist-info")
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(wheel.read(meta_name).decode())
    classifiers = meta.get_all("Classifier") or []
    for wanted in REQUIRED_CLASSIFIERS:
        if wanted not in classifiers:
            problems.append(f"{path.name}: classifier {wanted!r} missing")
    summary = (meta.get_payload() or "").lstrip()
    if not summary.startswith(f"# {package}\n\n") or "pip install" not in summary[:2000]:
        problems.append(
            f"{path.name}: README must start with what {package} is and how to install it"
        )
    return problems


def _sdist(path: Path) -> list[str]:
    with tarfile.open(path) as sdist:
        names = sdist.getnames()
    problems = []
    if not any(n.endswith("/LICENSE") for n in names):
        problems.append(f"{path.name}: no LICENSE")
    if not any(n.endswith("/py.typed") for n in names):
        problems.append(f"{path.name}: no py.typed")
    return problems


def main(paths: list[str]) -> int:
    problems: list[str] = []
    for name in paths:
        path = Path(name)
        if path.suffix == ".whl":
            problems += _wheel(path)
        elif name.endswith(".tar.gz"):
            problems += _sdist(path)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"checked {len(paths)} distributions: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
