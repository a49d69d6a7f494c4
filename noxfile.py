"""Every check plkit runs, as nox sessions.

Run them all (what CI runs, see ``.ci/run``)::

    pip install nox && PLKIT_TORCH="torch==2.13.0" nox

Run one::

    PLKIT_TORCH="torch==2.13.0" nox -s plcore      # plcore's tests, plcore installed alone
    PLKIT_TORCH="torch==2.13.0" nox -s demo        # the digits example, the main job

``PLKIT_TORCH`` is the torch requirement every session that needs torch installs first, before
any package: left to pip, ``torch`` resolves to a multi-GB CUDA build. Point it at what your
machine has (``torch==2.13.0``, a CPU wheel, a local file path); the default is ``torch>=2.1``.

Sessions use the interpreter nox runs on (no pinned Python), so any Python 3.10+ works.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).parent
PACKAGES = ROOT / "packages"

# Each package with the siblings it depends on, in install order (dependencies first). pip
# would look a sibling up on PyPI otherwise, so local siblings are always named explicitly.
LOCAL_DEPS: dict[str, tuple[str, ...]] = {
    "plcore": (),
    "placcel": (),
    "pllog": ("plcore",),
    "plkit": ("plcore", "placcel", "pllog"),
}
# The extras each package's tests install besides ``test``: plkit.cli's need jsonargparse,
# pllog's exercise the optional MLflow, W&B and Comet loggers.
TEST_EXTRAS: dict[str, str] = {"plkit": "test,cli", "pllog": "test,mlflow,wandb,comet"}
DOCS_REQUIREMENTS = ("mkdocs>=1.5", "mkdocs-material>=9", "mkdocstrings[python]>=0.24")
LINT_REQUIREMENTS = ("ruff", "import-linter>=2", "pytest>=7", "mypy>=1.10")
# The Lightning release the compatibility suite compares plkit with (env PLKIT_LIGHTNING).
LIGHTNING = "pytorch_lightning==2.6.6"

nox.options.sessions = [
    "lint",
    "dist",
    "plcore",
    "placcel",
    "pllog",
    "plkit",
    "tests",
    "compat",
    "docs",
]
# Local runs reuse their venvs (pip still reinstalls the local packages each time);
# CI starts from a fresh clone, so it builds them once anyway.
nox.options.reuse_venv = "yes"


# A venv with torch takes 1-2 GiB and a full run builds ten of them. Under CI (env ``CI`` set)
# or when the disk holding the checkout has less than this left, each session removes its venv
# when it ends, so a full run needs room for about two at a time, not all of them.
LOW_DISK_BYTES = 20 * 2**30


def _releases_venv(func: Callable[[nox.Session], None]) -> Callable[[nox.Session], None]:
    """Remove the session's venv (and any ``<venv>-*`` sibling it made) once the session ends,
    whatever its outcome, when running under CI or short of disk (``LOW_DISK_BYTES``).
    Local runs with room to spare keep their venvs for ``reuse_venv``."""

    @functools.wraps(func)
    def run(session: nox.Session) -> None:
        try:
            func(session)
        finally:
            short = shutil.disk_usage(ROOT).free < LOW_DISK_BYTES
            if os.environ.get("CI") or short:
                location = Path(session.virtualenv.location)
                for venv in (location, *location.parent.glob(f"{location.name}-*")):
                    shutil.rmtree(venv, ignore_errors=True)

    return run


def _torch() -> str:
    """The torch requirement every session installs first (env ``PLKIT_TORCH``)."""
    return os.environ.get("PLKIT_TORCH", "torch>=2.1")


def _local(name: str, extras: str = "") -> str:
    """A pip requirement for a package of this repository, by path."""
    suffix = f"[{extras}]" if extras else ""
    return f"{(PACKAGES / name).as_posix()}{suffix}"


def _pytest(session: nox.Session, *paths: str, env: dict[str, str | None] | None = None) -> None:
    """Run pytest from the repository root, whose pyproject.toml holds its settings.

    ``python -m pytest`` puts the root on ``sys.path``: with ``--import-mode=importlib`` test
    modules are named ``packages.<pkg>.tests...``, and processes that tests spawn must import
    them by that name. The root holds no package of ours, so isolation is kept.
    """
    args = ("-m", "pytest", "-p", "no:cacheprovider", *paths, *session.posargs)
    session.run("python", *args, env=env)


def _package_tests(session: nox.Session, name: str, *, isolated: bool) -> None:
    """Run one package's tests, plus ``tests/lint/test_isolation.py`` about that package.

    The isolation file checks what importing the package loads and, when ``isolated``, that no
    undeclared sibling is importable and that the tests see the built package, not the source
    tree. Being always there, it also means pytest never finds nothing to collect (exit 5).
    """
    env = {
        "PLKIT_PACKAGE": name,
        "PLKIT_ISOLATED": "1" if isolated else "0",
        "PYTHONPATH": None,  # a PYTHONPATH pointing at the sources would defeat the isolation
    }
    _pytest(session, f"packages/{name}/tests", "tests/lint/test_isolation.py", env=env)


def _isolated(session: nox.Session, name: str) -> None:
    """Install ``name`` alone (plus its declared deps) non-editable and run its tests."""
    siblings = [_local(dep) for dep in LOCAL_DEPS[name]]
    session.install(_torch())
    session.install(*siblings, _local(name, TEST_EXTRAS.get(name, "test")))
    _package_tests(session, name, isolated=True)


@nox.session(venv_backend="venv")
@_releases_venv
def plcore(session: nox.Session) -> None:
    """plcore alone: torch and numpy only; placcel, pllog and plkit must not be importable."""
    _isolated(session, "plcore")


@nox.session(venv_backend="venv")
@_releases_venv
def placcel(session: nox.Session) -> None:
    """placcel alone: torch only."""
    _isolated(session, "placcel")


@nox.session(venv_backend="venv")
@_releases_venv
def pllog(session: nox.Session) -> None:
    """pllog with plcore, tqdm and tensorboard."""
    _isolated(session, "pllog")


@nox.session(venv_backend="venv")
@_releases_venv
def plkit(session: nox.Session) -> None:
    """plkit with its three siblings."""
    _isolated(session, "plkit")


def _install_all_editable(session: nox.Session) -> None:
    """torch first, then the four packages editable with their test (and examples) extras."""
    session.install(_torch())
    extras = {"plkit": "test,examples,cli"}
    editable = [("-e", _local(name, extras.get(name, "test"))) for name in LOCAL_DEPS]
    session.install(*(arg for pair in editable for arg in pair))


@nox.session(venv_backend="venv")
@_releases_venv
def tests(session: nox.Session) -> None:
    """Everything installed together: every package's tests, integration and lint tests.

    One pytest run per package, as in the isolated sessions, then one for ``tests/``: each
    package's conftest governs only its own tests, and a failure is named by its package.
    Soak runs are left to ``nox -s soak`` and benchmarks to ``nox -s bench``.
    """
    _install_all_editable(session)
    session.install("-e", _local("pllog", TEST_EXTRAS["pllog"]))  # the optional loggers' tests
    session.install("import-linter>=2")  # for tests/lint/test_layers.py
    # tests/integration/test_remote_storage.py: S3 served by moto on 127.0.0.1
    session.install("s3fs", "moto[server]")
    # RichProgressBar / RichModelSummary and DeviceStatsMonitor's CPU stats (plkit[rich,stats]);
    # with rich installed the default bar and summary are rich's, as in Lightning
    session.install("rich>=10.2.2", "psutil>=5.9")
    skip = (
        "--ignore=tests/soak",
        "--ignore=tests/compat",
        "--ignore=tests/lint/test_isolation.py",
        "-m",
        "not soak",
    )
    runs = {
        name: functools.partial(_package_tests, session, name, isolated=False)
        for name in LOCAL_DEPS
    }
    runs["tests"] = functools.partial(_pytest, session, "tests", *skip)
    # Every run goes ahead even when one fails, so one session shows every failure.
    failed = []
    for name, run in runs.items():
        try:
            run()
        except CommandFailed:
            failed.append(name)
    if failed:
        session.error(f"tests failed in: {', '.join(failed)}")


@nox.session(venv_backend="venv")
@_releases_venv
def compat(session: nox.Session) -> None:
    """plkit against real Lightning: every scenario in ``tests/compat`` under both, traces diffed.

    Two venvs with the same torch: this session's (plkit, editable) and ``<venv>-lightning``
    (``PLKIT_LIGHTNING``, default ``pytorch_lightning==2.6.6``). Scenarios run in parallel, two
    processes at a time.
    """
    _install_all_editable(session)
    # s150-s153 use MLflow and W&B (not comet_ml: it brings rich, which changes Lightning's tables)
    session.install("-e", _local("pllog", "mlflow,wandb"))
    session.install("pytest-xdist>=3")
    lightning_venv = Path(session.virtualenv.location + "-lightning")
    python = lightning_venv / "bin" / "python"
    if not python.exists():
        session.run("python", "-m", "venv", str(lightning_venv))
    pip = (str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    session.run(*pip, _torch(), external=True)
    lightning = os.environ.get("PLKIT_LIGHTNING", LIGHTNING)
    # jsonargparse: the LightningCLI scenarios (s135-s139), at plkit's cli extra's bound
    cli = "jsonargparse[signatures]>=4.39.0"
    session.run(*pip, lightning, "tensorboard", "PyYAML", "mlflow", "wandb", cli, external=True)
    env = {"PLKIT_COMPAT_LIGHTNING_PYTHON": str(python), "PYTHONPATH": None}
    _pytest(session, "tests/compat", "-n", "2", env=env)


@nox.session(venv_backend="venv")
@_releases_venv
def lint(session: nox.Session) -> None:
    """ruff (check and format), the import-direction contracts, mypy on the run state and
    the loops (the files in pyproject.toml's ``[tool.mypy]``) and on examples/, and the
    layering tests."""
    session.install(*LINT_REQUIREMENTS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    _install_all_editable(session)
    session.run("lint-imports", "--no-cache", "--no-logo")
    session.run("mypy")
    # examples/ as a user's type checker sees them through the public, typed API (py.typed)
    mypy_examples = ("--allow-untyped-defs", "--allow-incomplete-defs", "--ignore-missing-imports")
    session.run("mypy", *mypy_examples, "examples")
    _pytest(session, "tests/lint")


@nox.session(venv_backend="venv")
@_releases_venv
def dist(session: nox.Session) -> None:
    """Build every package's wheel and sdist and check what a user would download.

    ``twine check --strict`` validates the metadata and that the README renders on PyPI;
    ``tests/lint/check_dists.py`` checks that each distribution carries its LICENSE, its
    ``py.typed`` marker and its classifiers; ``tests/lint/wheel_smoke.py`` installs the wheels
    alone in a new venv and runs the quick start and mypy on examples/ there.
    """
    session.install("build>=1", "twine>=5")
    out = Path(session.create_tmp()) / "dist"
    for name in LOCAL_DEPS:
        session.run("python", "-m", "build", "--outdir", str(out), str(PACKAGES / name))
    dists = sorted(str(p) for p in out.iterdir())
    session.run("twine", "check", "--strict", *dists)
    session.run("python", "tests/lint/check_dists.py", *dists)
    # A fresh venv with only the wheels and their dependencies: the quick start and a type
    # check of examples/, from outside the source tree.
    wheel_venv = Path(session.create_tmp()) / "wheel-venv"
    session.run("python", "tests/lint/wheel_smoke.py", str(out), str(wheel_venv), _torch())


@nox.session(venv_backend="venv", default=False)
@_releases_venv
def demo(session: nox.Session) -> None:
    """The main job: train a small CNN on scikit-learn's digits (``examples/digits.py``)."""
    session.install(_torch())
    deps = [_local(dep) for dep in LOCAL_DEPS["plkit"]]
    session.install(*deps, _local("plkit", "examples"))
    session.run("python", "examples/digits.py", *session.posargs)


@nox.session(venv_backend="venv")
@_releases_venv
def docs(session: nox.Session) -> None:
    """Build the documentation site; warnings (broken links, missing pages) fail it.

    mkdocstrings reads the sources statically (paths in mkdocs.yml), so torch is not needed.
    """
    session.install(*DOCS_REQUIREMENTS)
    session.run("mkdocs", "build", "--strict")


def _scripts(folder: str) -> list[Path]:
    """The ``*.py`` files directly in ``folder`` (sorted), skipping private helpers."""
    return sorted(p for p in (ROOT / folder).glob("*.py") if not p.name.startswith("_"))


@nox.session(venv_backend="venv", default=False)
@_releases_venv
def bench(session: nox.Session) -> None:
    """Run every ``benchmarks/*.py`` script, one after the other (the soak run has its own)."""
    scripts = [script for script in _scripts("benchmarks") if script.name != "soak.py"]
    if not scripts:
        session.skip("no benchmarks/*.py scripts yet")
    _install_all_editable(session)
    for script in scripts:
        session.run("python", str(script.relative_to(ROOT)), *session.posargs)


@nox.session(venv_backend="venv", default=False)
@_releases_venv
def soak(session: nox.Session) -> None:
    """The long stability run: ``benchmarks/soak.py`` or the tests in ``tests/soak``."""
    script = ROOT / "benchmarks" / "soak.py"
    folder = ROOT / "tests" / "soak"
    if not script.exists() and not folder.is_dir():
        session.skip("no soak run yet: add benchmarks/soak.py or tests/soak/")
    _install_all_editable(session)
    if script.exists():
        session.run("python", "benchmarks/soak.py", *session.posargs)
    if folder.is_dir():
        _pytest(session, "tests/soak")
