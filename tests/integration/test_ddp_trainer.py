"""Real multi-process training on CPU (gloo over 127.0.0.1), end to end through the Trainer.

Every launch path — ``python script.py`` (the subprocess launcher), ``ddp_spawn``, torchrun, and
two "nodes" as two launcher processes — must give the same weights on every rank, equal to a
single process training on the same global batch. Every test has a timeout.
"""

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
from torch import nn

pytestmark = pytest.mark.distributed

SCRIPT = Path(__file__).parent / "scripts" / "ddp_fit.py"
ENTRY_POINTS_SCRIPT = SCRIPT.with_name("ddp_entry_points.py")
TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "RANK",
            "LOCAL_RANK",
            "WORLD_SIZE",
            "NODE_RANK",
            "MASTER_ADDR",
            "MASTER_PORT",
            "LOCAL_WORLD_SIZE",
            "TORCHELASTIC_RUN_ID",
            "GROUP_RANK",
            # a seed exported by an earlier seed_everything would reseed the sampler's shuffle
            "PL_GLOBAL_SEED",
            "PL_SEED_WORKERS",
        )
        and not k.startswith("SLURM_")
    }
    env.update(extra)
    return env


def reference_weights() -> dict[str, torch.Tensor]:
    """One process, global batch 16 (2 ranks x 8), in the order the DistributedSampler gives:
    as in Lightning, a training loader's sampler shuffles (seed 0, reseeded with the epoch)
    even though the script's loader does not."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from ddp_fit import Model, dataset
    finally:
        sys.path.pop(0)
    model = Model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = dataset().tensors
    for epoch in range(2):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch)).tolist()
        ranks = [order[0::2], order[1::2]]  # rank r takes every second index from r
        for i in range(4):
            # batch i of each rank, together: the mean loss DDP's averaged gradients amount to
            idx = ranks[0][8 * i : 8 * i + 8] + ranks[1][8 * i : 8 * i + 8]
            opt.zero_grad()
            nn.functional.mse_loss(model.net(x[idx]), y[idx]).backward()
            opt.step()
    return model.state_dict()


def check_results(out: Path, files: int = 2) -> None:
    results = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(files)]
    reference = reference_weights()
    for result in results:
        assert result["world_size"] == 2 and result["global_step"] == 8
        for key, value in reference.items():
            torch.testing.assert_close(result["weights"][key], value, rtol=0, atol=1e-5)
    torch.testing.assert_close(results[0]["val_loss"], results[-1]["val_loss"])
    checkpoints = list(out.rglob("*.ckpt"))
    assert len(checkpoints) == 1  # rank 0 writes, once
    assert len(list(out.rglob("events.out.tfevents.*"))) == 1  # one logger, one version folder


def run_in_own_session(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run ``cmd`` as the leader of a new session; fail if any process of it outlives it.

    The whole session is SIGKILLed afterwards whatever happened, so a hang never leaks ranks.
    """
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = proc.communicate(timeout=timeout)
        time.sleep(0.5)  # a rank that is merely slow to exit gets a moment
        try:
            os.killpg(proc.pid, 0)
            left_behind = True
        except ProcessLookupError:
            left_behind = False
        assert not left_behind, "a process of the job was still running after it ended"
        return proc.returncode, stderr
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def test_fit_then_validate_test_predict_under_ddp(tmp_path):
    """Issue 15 item 11: a second (third, fourth) entry point after fit must not hang."""
    env = clean_env(PLKIT_TEST_OUT=str(tmp_path), MASTER_PORT=str(free_port()))
    code, stderr = run_in_own_session([sys.executable, str(ENTRY_POINTS_SCRIPT)], env, TIMEOUT)
    assert code == 0, stderr[-3000:]
    results = [torch.load(tmp_path / f"entry-rank{r}.pt", weights_only=True) for r in (0, 1)]
    rank0 = results[0]
    assert rank0["world_size"] == 2
    for key, value in rank0["weights"].items():  # fit kept the ranks in step
        torch.testing.assert_close(results[1]["weights"][key], value, rtol=0, atol=0)
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from ddp_fit import Model, dataset
    finally:
        sys.path.pop(0)
    model = Model()
    model.load_state_dict(rank0["weights"])
    x, y = dataset().tensors
    with torch.no_grad():
        # equal shards and batches: the synced epoch means are the whole data set's loss
        full_loss = nn.functional.mse_loss(model.net(x), y).item()
        rank0_outputs = model.net(x[0::2])  # rank 0's share under the DistributedSampler
    assert rank0["validate"] == results[1]["validate"]
    assert rank0["test"] == results[1]["test"]
    assert rank0["validate"][0]["val_loss"] == pytest.approx(full_loss, abs=1e-5)
    assert rank0["test"][0]["test_loss"] == pytest.approx(full_loss, abs=1e-5)
    torch.testing.assert_close(rank0["predictions"], rank0_outputs, rtol=0, atol=1e-6)
    assert results[1]["predictions"].shape == rank0_outputs.shape


def test_ddp_from_plain_python_script(tmp_path):
    env = clean_env(
        PLKIT_TEST_OUT=str(tmp_path), PLKIT_TEST_STRATEGY="ddp", MASTER_PORT=str(free_port())
    )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_results(tmp_path)


def test_ddp_spawn(tmp_path):
    env = clean_env(
        PLKIT_TEST_OUT=str(tmp_path), PLKIT_TEST_STRATEGY="ddp_spawn", MASTER_PORT=str(free_port())
    )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_results(tmp_path, files=1)  # the launching process holds rank 0's results


def test_torchrun(tmp_path):
    env = clean_env(PLKIT_TEST_OUT=str(tmp_path), PLKIT_TEST_STRATEGY="ddp")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        str(SCRIPT),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_results(tmp_path)


def test_two_nodes_on_loopback(tmp_path):
    port = str(free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT)],
            env=clean_env(
                PLKIT_TEST_OUT=str(tmp_path),
                PLKIT_TEST_DEVICES="1",
                PLKIT_TEST_NUM_NODES="2",
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
                NODE_RANK=str(node),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for node in (0, 1)
    ]
    try:
        outputs = [p.communicate(timeout=TIMEOUT) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs[0][1][-2000:] + outputs[1][1][-2000:]
    check_results(tmp_path)


@pytest.mark.parametrize("fail_rank", [0, 1])
def test_a_failing_rank_ends_the_whole_job_quickly(tmp_path, fail_rank):
    env = clean_env(
        PLKIT_TEST_OUT=str(tmp_path),
        PLKIT_TEST_STRATEGY="ddp",
        PLKIT_TEST_FAIL_RANK=str(fail_rank),
        MASTER_PORT=str(free_port()),
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=90
    )
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert f"rank {fail_rank} failed on purpose" in proc.stderr
    assert elapsed < 45, f"the job took {elapsed:.0f}s to end"
    assert not list(tmp_path.glob("rank*.pt"))


@pytest.mark.parametrize("node_rank", [0, 1])
def test_a_rendezvous_that_never_completes_ends_with_the_address(tmp_path, node_rank):
    """Issue 15 item 4: one "node" of two started alone on 127.0.0.1. Node 1 waits for a rank 0
    that never listens, node 0 for a rank 1 that never comes; each must end, naming where."""
    port = free_port()
    env = clean_env(
        PLKIT_TEST_OUT=str(tmp_path),
        PLKIT_TEST_DEVICES="1",
        PLKIT_TEST_NUM_NODES="2",
        PLKIT_RENDEZVOUS_TIMEOUT="3",
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        NODE_RANK=str(node_rank),
    )
    start = time.monotonic()
    code, stderr = run_in_own_session([sys.executable, str(SCRIPT)], env, timeout=90)
    elapsed = time.monotonic() - start
    assert code != 0
    assert "RendezvousError" in stderr, stderr[-3000:]
    assert f"rank {node_rank} of 2: the rendezvous at 127.0.0.1:{port} did not complete" in stderr
    assert "MASTER_ADDR and MASTER_PORT" in stderr
    assert f"[placcel] rank {node_rank}: waiting" in stderr  # progress while it waited
    assert elapsed < 45, f"the job took {elapsed:.0f}s to end"
    assert not list(tmp_path.glob("rank*.pt"))
