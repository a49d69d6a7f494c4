"""A fresh venv with only the built wheels: the quick start runs and examples/ type-check.

    python tests/lint/wheel_smoke.py DIST_DIR VENV_DIR TORCH_REQUIREMENT

Run by ``nox -s dist`` after the distributions are built. It makes ``VENV_DIR`` from nothing,
installs torch (the requirement given, so that pip does not pick a CUDA build), then the four
wheels from ``DIST_DIR`` — ours without a look at the index, whose same-named projects could
otherwise win — then ``plkit``'s remaining dependencies from the index, as ``pip install plkit``
would. In an empty folder outside the repository (so no source tree is importable) it runs the
quick start page's script (``docs/quickstart.md``, session ``quickstart``), checks the files it
says the run writes, and runs mypy on ``examples/`` against the installed packages, as a user's
type checker sees them through ``py.typed``. Exits non-zero naming what failed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("plcore", "placcel", "pllog", "plkit")
_MARKER = re.compile(r"^\s*<!--\s*run\b[^>]*session=quickstart[^>]*-->\s*$")
# What the quick start page says its run leaves in the working folder.
EXPECTED_FILES = (
    "lightning_logs/version_0/hparams.yaml",
    "lightning_logs/version_0/checkpoints",
)


def quickstart_script(page: Path) -> str:
    """The page's ``session=quickstart`` python blocks, joined in page order."""
    blocks: list[str] = []
    lines = page.read_text().splitlines()
    for i, line in enumerate(lines[:-1]):
        if _MARKER.match(line) and lines[i + 1].strip() == "```python":
            end = lines.index("```", i + 2)
            blocks.append("\n".join(lines[i + 2 : end]))
    if not blocks:
        raise SystemExit(f"{page}: no <!-- run session=quickstart --> python block")
    return "\n\n".join(blocks) + "\n"


def run(*cmd: str | Path, cwd: Path | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=cwd)


def main(dist: Path, venv: Path, torch_requirement: str) -> None:
    dist, venv = dist.resolve(), venv.resolve()  # the quick start runs in another folder
    wheels = {name: sorted(dist.glob(f"{name}-*.whl")) for name in PACKAGES}
    missing = [name for name, found in wheels.items() if len(found) != 1]
    if missing:
        raise SystemExit(f"{dist}: expected one wheel each of {', '.join(missing)}")
    run(sys.executable, "-m", "venv", "--clear", venv)
    python = venv / "bin" / "python"
    pip = (python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    run(*pip, torch_requirement, "mypy>=1.10")
    run(*pip, "--no-deps", *(found[0] for found in wheels.values()))
    run(*pip, wheels["plkit"][0])  # its third-party dependencies; ours are already satisfied
    run(python, "-m", "pip", "check")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        script = work / "quickstart.py"
        script.write_text(quickstart_script(ROOT / "docs" / "quickstart.md"))
        run(python, "-I", script, cwd=work)  # -I: neither the cwd nor PYTHON* env on sys.path
        absent = [f for f in EXPECTED_FILES if not (work / f).exists()]
        if absent:
            raise SystemExit(f"the quick start wrote none of: {', '.join(absent)}")
        flags = ("--allow-untyped-defs", "--allow-incomplete-defs", "--ignore-missing-imports")
        cache = ("--cache-dir", str(work / ".mypy_cache"))
        run(python, "-m", "mypy", *flags, *cache, ROOT / "examples", cwd=work)
    print("wheel smoke test passed: quick start ran, examples/ type-check", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
