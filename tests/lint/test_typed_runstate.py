"""The run state and the loops are type-checked (``nox -s lint`` runs mypy on them): a loop
that reads a misspelt attribute of the run state, or hands a loop the Trainer instead of the
run state, fails the lint. Checked here on a small file with the project's mypy settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")
ROOT = Path(__file__).resolve().parents[2]

SNIPPET = """
from plkit._runstate import RunState
from plkit.loops.fit import run_fit
from plkit.trainer import Trainer


def epoch_of(run: RunState) -> int:
    return run.progress.epoch  # right: no error


def misspelt(run: RunState) -> int:
    return run.progres.epoch


def wrong_argument(trainer: Trainer) -> None:
    run_fit(trainer)
"""


def test_run_state_misuse_fails_the_type_check(tmp_path: Path) -> None:
    path = tmp_path / "snippet.py"
    path.write_text(SNIPPET)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(errors) == 2, result.stdout  # the correct function passes
    assert '"RunState" has no attribute "progres"' in errors[0]
    assert 'Argument 1 to "run_fit" has incompatible type "Trainer"' in errors[1]
