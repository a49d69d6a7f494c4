"""SIGTERM during fit: finish the step, write hpc_ckpt_N.ckpt, exit; the next run resumes exactly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).parent / "scripts" / "preempt_fit.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(out: Path, **extra: str) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT")
    }
    base.update(PLKIT_TEST_OUT=str(out), MASTER_PORT=str(free_port()), **extra)
    return base


def run(out: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=env(out, **extra),
        capture_output=True,
        text=True,
        timeout=180,
    )


def preempt(out: Path, **extra: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT)],
        env=env(out, PLKIT_TEST_SLOW="1", **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out / "started").exists():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "training never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    return proc


def test_sigterm_saves_a_checkpoint_and_the_rerun_resumes_exactly(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    assert run(reference).returncode == 0
    expected = torch.load(reference / "final.pt", weights_only=True)

    out = tmp_path / "preempted"
    out.mkdir()
    proc = preempt(out)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert (out / "hpc_ckpt_1.ckpt").is_file() and not (out / "final.pt").exists()
    ckpt = torch.load(out / "hpc_ckpt_1.ckpt", weights_only=True)
    assert 5 <= ckpt["global_step"] < expected["step"]

    resumed = run(out)  # the same command again: it finds hpc_ckpt_1.ckpt and continues
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = torch.load(out / "final.pt", weights_only=True)
    assert final["step"] == expected["step"]
    for key, value in expected["weights"].items():
        assert torch.equal(final["weights"][key], value), key
    # the preempted run is complete: its checkpoint must not resume anything again
    assert not (out / "hpc_ckpt_1.ckpt").exists()


def test_a_preemption_checkpoint_resumes_only_its_own_run(tmp_path):
    proc = preempt(tmp_path, PLKIT_RUN_ID="job-a")
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert (tmp_path / "hpc_ckpt_1.ckpt").is_file()
    other = run(tmp_path, PLKIT_RUN_ID="job-b")  # a new experiment in the same folder
    assert other.returncode == 0, other.stderr[-3000:]
    assert "Not resuming from" in other.stderr + other.stdout
    assert "run:job-a" in other.stderr + other.stdout
    final = torch.load(tmp_path / "final.pt", weights_only=True)
    assert final["step"] == 6 * 256 // 8  # trained from the start, not from job-a's step
    assert (tmp_path / "hpc_ckpt_1.ckpt").is_file()  # left for job-a
    again = run(tmp_path, PLKIT_RUN_ID="job-a")  # job-a requeued: it continues, then retires it
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Restored all states from the checkpoint" in again.stderr + again.stdout
    assert not (tmp_path / "hpc_ckpt_1.ckpt").exists()


def test_sigterm_during_validation_saves_the_last_training_step(tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    assert run(reference).returncode == 0  # validation does not change training
    expected = torch.load(reference / "final.pt", weights_only=True)
    out = tmp_path / "preempted"
    out.mkdir()
    proc = preempt(out, PLKIT_TEST_VAL="1")  # signalled in the second epoch's validation
    start = time.monotonic()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert time.monotonic() - start < 10  # not after the 2 s validation, nor the other epochs
    ckpt = torch.load(out / "hpc_ckpt_1.ckpt", weights_only=True)
    assert ckpt["global_step"] == 2 * 256 // 8  # the last finished training step
    resumed = run(out, PLKIT_TEST_VAL="1", PLKIT_TEST_VAL_FAST="1")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = torch.load(out / "final.pt", weights_only=True)
    assert final["step"] == expected["step"]
    for key, value in expected["weights"].items():
        assert torch.equal(final["weights"][key], value), key


def test_sigterm_during_validate_exits_promptly(tmp_path):
    proc = preempt(tmp_path, PLKIT_TEST_VALIDATE="1")
    start = time.monotonic()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert time.monotonic() - start < 5  # the 2 s pass was abandoned after the current batch
    assert not (tmp_path / "validated").exists()
    assert not list(tmp_path.glob("hpc_ckpt_*.ckpt"))  # nothing to resume


def test_a_stuck_step_ends_within_the_grace_period(tmp_path):
    proc = preempt(tmp_path, PLKIT_TEST_STUCK="1", PLKIT_PREEMPTION_GRACE="5")
    start = time.monotonic()
    _, stderr = proc.communicate(timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert 4 < elapsed < 5, elapsed  # 0.9 of the grace period: before the scheduler's SIGKILL
    assert "still running" in stderr and "PLKIT_PREEMPTION_GRACE=5" in stderr
    assert "training_step" in stderr  # where it was stuck


@pytest.mark.distributed
def test_sigterm_under_ddp_stops_every_rank_with_one_checkpoint(tmp_path):
    proc = preempt(tmp_path, PLKIT_TEST_STRATEGY="ddp", PLKIT_TEST_DEVICES="2")
    start = time.monotonic()
    _, stderr = proc.communicate(timeout=90)
    assert time.monotonic() - start < 30
    assert proc.returncode != 0
    checkpoints = list(tmp_path.glob("hpc_ckpt_*.ckpt"))
    assert [p.name for p in checkpoints] == ["hpc_ckpt_1.ckpt"], stderr[-3000:]
    ckpt = torch.load(checkpoints[0], weights_only=True)
    assert ckpt["global_step"] >= 5
    resumed = run(tmp_path, PLKIT_TEST_STRATEGY="ddp", PLKIT_TEST_DEVICES="2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(tmp_path / "final.pt", weights_only=True)["step"] == 6 * 256 // 16


@pytest.mark.distributed
def test_sigterm_during_validation_under_ddp_agrees_on_one_stop(tmp_path):
    proc = preempt(tmp_path, PLKIT_TEST_STRATEGY="ddp", PLKIT_TEST_DEVICES="2", PLKIT_TEST_VAL="1")
    start = time.monotonic()
    _, stderr = proc.communicate(timeout=90)
    assert time.monotonic() - start < 15, stderr[-3000:]
    assert proc.returncode != 0
    checkpoints = list(tmp_path.glob("hpc_ckpt_*.ckpt"))
    assert [p.name for p in checkpoints] == ["hpc_ckpt_1.ckpt"], stderr[-3000:]
    ckpt = torch.load(checkpoints[0], weights_only=True)
    assert ckpt["global_step"] == 2 * 256 // 16  # the second epoch's validation was cut short
    resumed = run(
        tmp_path,
        PLKIT_TEST_STRATEGY="ddp",
        PLKIT_TEST_DEVICES="2",
        PLKIT_TEST_VAL="1",
        PLKIT_TEST_VAL_FAST="1",
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert torch.load(tmp_path / "final.pt", weights_only=True)["step"] == 6 * 256 // 16


@pytest.mark.distributed
def test_a_stuck_rank_ends_the_job_with_a_report(tmp_path):
    start = time.monotonic()
    result = run(
        tmp_path,
        PLKIT_TEST_STRATEGY="ddp",
        PLKIT_TEST_DEVICES="2",
        PLKIT_TEST_HANG_RANK="1",
        PLKIT_HANG_TIMEOUT="3",
    )
    assert time.monotonic() - start < 60  # not the 30-minute collective timeout
    assert result.returncode != 0
    err = result.stderr
    assert "no rank has made progress for 3 s (PLKIT_HANG_TIMEOUT): rank 1 is stuck" in err, err[
        -3000:
    ]
    assert "rank 1: training batch 3, running" in err and "in training_step" in err
    assert "rank 0: training batch 3, waiting" in err  # in all-reduce, inside torch
    assert not (tmp_path / "final.pt").exists()
