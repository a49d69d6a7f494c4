"""Every example besides digits.py runs end to end, as a user runs it, in fast mode.

Each example runs in a fresh interpreter with ``PLKIT_EXAMPLES_FAST=1`` and ``--root`` a
temporary folder (also its working directory, so nothing lands in the repository); the tests
read what it printed and the files it wrote. ``ddp_cpu.py`` runs twice: as ``python`` (plkit
starts the second process) and under torchrun::

    python -m pytest tests/integration/test_examples_more.py -q
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TIMEOUT = 240
# Set by launchers; a test run inside torchrun or SLURM must not leak them into the examples.
_LAUNCH_VARIABLES = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "NODE_RANK",
    "GROUP_RANK",
    "PL_GLOBAL_SEED",  # a seed exported by an earlier seed_everything reseeds samplers
    "PL_SEED_WORKERS",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_RUN_ID",
)


def _env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _LAUNCH_VARIABLES and not key.startswith("SLURM_")
    }
    env.update(PLKIT_EXAMPLES_FAST="1", **extra)
    return env


def _run(command: list[str], root: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``root``; fail with its output unless it exits with 0."""
    result = subprocess.run(
        command,
        cwd=root,
        env=_env(**extra_env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr[-4000:]}"
    return result


def _run_example(name: str, root: Path, *python_flags: str) -> subprocess.CompletedProcess[str]:
    script = EXAMPLES / name
    return _run([sys.executable, *python_flags, str(script), "--root", str(root)], root)


def _printed(stdout: str, label: str) -> str:
    """The value the example printed after ``<label>: `` (the first such line)."""
    match = re.search(rf"^{re.escape(label)}: (.+)$", stdout, flags=re.MULTILINE)
    assert match, f"no '{label}:' line in:\n{stdout}"
    return match.group(1).strip()


def _load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{Path(name).stem}", EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- every example has a test ------------------------------------------------------------------
TESTED = {
    "autoencoder.py",
    "custom_loop.py",
    "ddp_cpu.py",
    "digits.py",  # tests/integration/test_examples.py
    "fsdp_cpu.py",
    "gan.py",
    "print_callback.py",
    "resume.py",
    "warmup.py",
}


def test_every_example_is_tested_here_or_in_test_examples() -> None:
    examples = {path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_")}
    assert examples == TESTED, "add a test for each new example (and drop removed ones)"


@pytest.mark.parametrize(
    "name", ["autoencoder.py", "custom_loop.py", "ddp_cpu.py", "fsdp_cpu.py", "gan.py", "warmup.py"]
)
@pytest.mark.parametrize(
    ("argv", "env_value", "fast"),
    [([], None, False), (["--fast"], None, True), ([], "1", True), ([], "0", False)],
)
def test_fast_mode_comes_from_the_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, name: str, argv: list[str], env_value: str | None, fast: bool
) -> None:
    if env_value is None:
        monkeypatch.delenv("PLKIT_EXAMPLES_FAST", raising=False)
    else:
        monkeypatch.setenv("PLKIT_EXAMPLES_FAST", env_value)
    assert _load_example(name)._parse_args(argv).fast is fast


@pytest.mark.parametrize("name", sorted(TESTED - {"digits.py"}))
def test_root_comes_from_the_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    module = _load_example(name)
    monkeypatch.setenv("PLKIT_EXAMPLES_ROOT", str(tmp_path / "from_env"))
    assert module._parse_args([]).root == str(tmp_path / "from_env")
    assert module._parse_args(["--root", "given"]).root == "given"


# --- the examples, run -------------------------------------------------------------------------
def test_autoencoder_beats_the_mean_image(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="the autoencoder trains on scikit-learn's digits")
    stdout = _run_example("autoencoder.py", tmp_path).stdout
    error = float(_printed(stdout, "reconstruction error"))
    baseline = float(_printed(stdout, "mean-image baseline"))
    assert error < baseline, stdout  # better than always predicting the mean image
    log_dir = Path(_printed(stdout, "TensorBoard logs"))
    assert log_dir == tmp_path / "lightning_logs" / "version_0"
    assert list(log_dir.glob("events.out.tfevents.*"))
    assert list((log_dir / "checkpoints").glob("*.ckpt"))


def test_gan_steps_both_optimizers_and_moves_towards_the_target(tmp_path: Path) -> None:
    stdout = _run_example("gan.py", tmp_path).stdout
    gan = _load_example("gan.py")
    batches = int(_printed(stdout, "batches per epoch"))
    # manual optimization: global_step counts each optimizer's steps, two per batch
    assert int(_printed(stdout, "global step")) == 2 * batches * gan.FAST_EPOCHS
    before = float(_printed(stdout, "generated mean before"))
    after = float(_printed(stdout, "generated mean after"))
    assert abs(after - gan.TARGET_MEAN) < abs(before - gan.TARGET_MEAN) / 2, stdout


def test_warmup_raises_the_learning_rate_linearly_and_backward_runs_per_batch(
    tmp_path: Path,
) -> None:
    stdout = _run_example("warmup.py", tmp_path).stdout
    model = _load_example("warmup.py").WarmupRegressor()
    warmup, base_lr = model.hparams.warmup_steps, model.hparams.base_lr
    rates = [
        float(r)
        for r in _printed(stdout, f"learning rates of the first {warmup + 2} steps").split(",")
    ]
    expected = [base_lr * min(1.0, (step + 1) / warmup) for step in range(warmup + 2)]
    assert rates == pytest.approx(expected, abs=1e-3)
    steps = int(_printed(stdout, "global step"))
    assert steps > warmup and int(_printed(stdout, "backward calls")) == steps
    assert float(_printed(stdout, "final train loss")) < 1.0


def test_print_callback_prints_at_the_start_and_the_end_of_training(tmp_path: Path) -> None:
    lines = _run_example("print_callback.py", tmp_path).stdout.splitlines()
    assert lines[0] == "Training is started!"
    assert lines[-1] == "Training is done."
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 0", "epoch 1", "epoch 2"]
    losses = [float(line.rsplit(" ", 1)[1]) for line in epochs]
    assert losses[-1] < losses[0]


def test_resume_continues_from_the_step_of_last_ckpt_and_matches_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    stdout = _run_example("resume.py", tmp_path).stdout
    resume = _load_example("resume.py")
    assert int(_printed(stdout, "interrupted at step")) == resume.STOP_AT_STEP
    last = Path(_printed(stdout, "last checkpoint"))
    assert last.name == "last.ckpt" and last.is_relative_to(tmp_path)
    assert Path(_printed(stdout, "resumed from")) == last
    # last.ckpt was written at step 10 (every_n_train_steps=5), in the middle of epoch 1
    assert _printed(stdout, "resumed at step") == "10 (epoch 1)"
    assert _printed(stdout, "final step") == "24 (uninterrupted run: 24)"
    assert _printed(stdout, "identical to the uninterrupted run") == "True"
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["global_step"] >= 10


def _check_two_ranks(stdout: str, root: Path) -> None:
    ranks = re.findall(
        r"^rank (\d): world size (\d+), global step (\d+), weights checksum (\S+), val_loss (\S+)$",
        stdout,
        flags=re.MULTILINE,
    )
    assert sorted(rank for rank, *_ in ranks) == ["0", "1"], stdout
    assert {world for _, world, *_ in ranks} == {"2"}
    # gradients are averaged after every backward, so both ranks hold the same weights
    assert len({(step, checksum, loss) for _, _, step, checksum, loss in ranks}) == 1, ranks
    assert len(list(root.rglob("events.out.tfevents.*"))) == 1  # only rank 0 writes
    assert len(list(root.rglob("*.ckpt"))) == 1


@pytest.mark.distributed
def test_ddp_cpu_from_plain_python(tmp_path: Path) -> None:
    result = _run_example("ddp_cpu.py", tmp_path)
    _check_two_ranks(result.stdout, tmp_path)


@pytest.mark.distributed
def test_fsdp_cpu_trains_sharded_and_loads_in_one_process(tmp_path: Path) -> None:
    stdout = _run_example("fsdp_cpu.py", tmp_path).stdout
    trained = _printed(stdout, "trained")
    assert trained.startswith("global step 32,")  # 2 epochs x 512 / (16 per batch x 2 ranks)
    folder = _printed(stdout, "sharded checkpoint")
    assert folder.endswith("(.metadata, __0_0.distcp, __1_0.distcp, meta.pt)")
    # the folder written by two ranks, loaded into this one process, gives training's loss
    assert _printed(stdout, "loaded in one process") == trained.split(", ")[1]


@pytest.mark.distributed
def test_ddp_cpu_under_torchrun(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        str(EXAMPLES / "ddp_cpu.py"),
        "--root",
        str(tmp_path),
    ]
    _check_two_ranks(_run(command, tmp_path).stdout, tmp_path)


def test_custom_loop_uses_plcore_alone(tmp_path: Path) -> None:
    # -X importtime lists every module the interpreter loaded, on stderr
    result = _run_example("custom_loop.py", tmp_path, "-X", "importtime")
    loaded = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "plcore" in loaded
    assert not loaded & {"plkit", "pllog", "placcel", "tensorboard"}, sorted(loaded)
    stdout = result.stdout
    assert _printed(stdout, "loaded from plkit, pllog, placcel") == "nothing"
    assert _printed(stdout, "restored model predicts the same") == "True"
    losses = [float(v) for v in re.findall(r"^epoch \d+: val_loss (\S+)$", stdout, re.MULTILINE)]
    assert len(losses) == _load_example("custom_loop.py").FAST_EPOCHS
    assert losses[-1] < losses[0]
    checkpoint = torch.load(Path(_printed(stdout, "checkpoint")), weights_only=True)
    assert checkpoint["pytorch-lightning_version"] == "2.6.6"
    assert checkpoint["hyper_parameters"] == {"hidden": 32, "lr": 0.01}
