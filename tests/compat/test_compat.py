"""Every scenario, run under Lightning and under plkit, must leave the same trace.

Differences are allowed only where ``expected.py`` names them. Run with ``nox -s compat``, or by
hand with ``PLKIT_COMPAT_LIGHTNING_PYTHON=/path/to/lightning-venv/bin/python pytest tests/compat``.
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from compat_suite import compare, lightning_python, report, run_scenario
from expected import drop_expected_lines, excused

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("s[0-9]*.py"))

pytestmark = pytest.mark.skipif(
    lightning_python() is None,
    reason="no Lightning venv: set PLKIT_COMPAT_LIGHTNING_PYTHON (nox -s compat does)",
)


def _required(scenario: Path) -> tuple[str, ...]:
    """The optional packages a scenario names in a module-level ``REQUIRES = (...)``."""
    for node in ast.parse(scenario.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            "REQUIRES"
        ]:
            return tuple(ast.literal_eval(node.value))
    return ()


@functools.cache
def _lightning_has(module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([str(lightning_python()), "-c", code], timeout=120).returncode == 0


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.stem for s in SCENARIOS])
def test_scenario_matches_lightning(scenario: Path, tmp_path: Path) -> None:
    missing = [m for m in _required(scenario) if not _lightning_has(m)]
    if missing:  # nox -s compat installs them; a hand-made Lightning venv may lack them
        pytest.skip(f"the Lightning venv lacks {missing} (pip install {' '.join(missing)})")
    # Under pytest-xdist each worker already has a core: run the two sides one after the other.
    workers = 1 if os.environ.get("PYTEST_XDIST_WORKER") else 2
    with ThreadPoolExecutor(workers) as pool:
        lightning = pool.submit(
            run_scenario, scenario, "lightning", tmp_path / "lightning", lightning_python()
        )
        plkit = pool.submit(run_scenario, scenario, "plkit", tmp_path / "plkit")
        a, b = lightning.result(), plkit.result()
    assert not a.get("runner_failed"), f"the scenario failed under Lightning: {a.get('info')}"
    a, b = drop_expected_lines(scenario.stem, a), drop_expected_lines(scenario.stem, b)
    diffs = [d for d in compare(a, b) if excused(scenario.stem, d.path) is None]
    if diffs:
        pytest.fail(report(scenario.stem, diffs, a, b), pytrace=False)
