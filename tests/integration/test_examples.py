"""The examples run end to end, as a user runs them: a fresh interpreter, in fast mode.

Each runs once in a subprocess with ``PLKIT_EXAMPLES_FAST=1``; the tests read what it printed::

    python -m pytest tests/integration/test_examples.py -q
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

pytest.importorskip("sklearn", reason="the digits example needs scikit-learn (plkit[examples])")


def _run_example(name: str, root: Path, *args: str) -> str:
    """Run ``examples/<name>`` with fast mode on; return its stdout, failing on a bad exit."""
    env = {**os.environ, "PLKIT_EXAMPLES_FAST": "1"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--root", str(root), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _printed(stdout: str, label: str) -> str:
    """The value the example printed after ``<label>: ``."""
    match = re.search(rf"^{re.escape(label)}: (.+)$", stdout, flags=re.MULTILINE)
    assert match, f"no '{label}:' line in:\n{stdout}"
    return match.group(1).strip()


def _load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{Path(name).stem}", EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One fast run of examples/digits.py, shared by the tests below."""
    root = tmp_path_factory.mktemp("digits")
    return root, _run_example("digits.py", root)


def test_digits_learns(digits_run: tuple[Path, str]) -> None:
    _, stdout = digits_run
    # Three epochs already get well past chance (10 %); the full run's 95 % is `nox -s demo`.
    assert float(_printed(stdout, "final validation accuracy")) >= 0.8
    assert float(_printed(stdout, "test accuracy")) >= 0.8


def test_digits_writes_event_files_under_root(digits_run: tuple[Path, str]) -> None:
    root, stdout = digits_run
    log_dir = Path(_printed(stdout, "TensorBoard logs"))
    assert log_dir == root / "lightning_logs" / "version_0"
    assert list(log_dir.glob("events.out.tfevents.*")), sorted(log_dir.iterdir())


def test_digits_checkpoint_restores_the_model(digits_run: tuple[Path, str]) -> None:
    root, stdout = digits_run
    checkpoint = Path(_printed(stdout, "checkpoint"))
    assert checkpoint.is_file() and checkpoint.suffix == ".ckpt"
    assert checkpoint.is_relative_to(root)
    digits = _load_example("digits.py")
    model = digits.DigitsClassifier.load_from_checkpoint(checkpoint)
    assert model.hparams.lr == digits.DigitsClassifier().hparams.lr
    data = digits.DigitsDataModule()
    data.setup("validate")
    images, labels = data.splits["val"].tensors
    model.eval()
    with torch.no_grad():
        accuracy = (model(images).argmax(dim=1) == labels).float().mean().item()
    assert accuracy == pytest.approx(float(_printed(stdout, "final validation accuracy")), abs=1e-3)


def test_digits_plots_its_logged_curves(digits_run: tuple[Path, str]) -> None:
    pytest.importorskip("matplotlib", reason="the plot is skipped without matplotlib")
    _, stdout = digits_run
    curves = Path(_printed(stdout, "curves"))
    assert curves.parent == Path(_printed(stdout, "TensorBoard logs"))
    assert curves.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("argv", "env_value", "fast"),
    [([], None, False), (["--fast"], None, True), ([], "1", True), ([], "0", False)],
)
def test_digits_fast_mode_from_flag_or_env(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env_value: str | None, fast: bool
) -> None:
    if env_value is None:
        monkeypatch.delenv("PLKIT_EXAMPLES_FAST", raising=False)
    else:
        monkeypatch.setenv("PLKIT_EXAMPLES_FAST", env_value)
    assert _load_example("digits.py")._parse_args(argv).fast is fast


def test_digits_datamodule_rejects_a_bad_batch_size() -> None:
    digits = _load_example("digits.py")
    with pytest.raises(ValueError, match="batch_size=0"):
        digits.DigitsDataModule(batch_size=0)


def test_digits_root_from_flag_or_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    parse_args = _load_example("digits.py")._parse_args
    monkeypatch.setenv("PLKIT_EXAMPLES_ROOT", str(tmp_path))
    assert parse_args([]).root == str(tmp_path)
    assert parse_args(["--root", "elsewhere"]).root == "elsewhere"
    monkeypatch.delenv("PLKIT_EXAMPLES_ROOT")
    assert parse_args([]).root == os.getcwd()
