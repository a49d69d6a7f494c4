"""The re-run-the-script launcher, end to end: each test runs tests/ddp_scripts/launch_ranks.py
as a real subprocess (like ``python train.py``) and checks what every rank wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from placcel import SubprocessScriptLauncher
from placcel._ports import find_free_port
from placcel.environments import LightningEnvironment
from placcel.launchers.subprocess_script import script_command

SCRIPT = Path(__file__).parents[1] / "ddp_scripts" / "launch_ranks.py"
pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MASTER_PORT", "LOCAL_RANK", "WORLD_SIZE", "RANK", "NODE_RANK")
    }
    env.update(extra)
    return env


def _run(
    out: Path, *flags: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    command = [sys.executable, str(SCRIPT), "--out", str(out), *flags]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env or _env()
    )


def _records(out: Path, prefix: str = "rank") -> dict[int, dict]:
    return {
        json.loads(path.read_text())["rank"]: json.loads(path.read_text())
        for path in out.glob(f"{prefix}*.json")
    }


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"  # zombies count as gone
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _pids(out: Path) -> dict[int, int]:
    return {
        int(p.stem.removeprefix("pid-rank")): json.loads(p.read_text())["pid"]
        for p in out.glob("pid-rank*.json")
    }


def _cleanup(pids) -> None:
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_two_local_ranks_and_a_second_fit(tmp_path):
    result = _run(tmp_path, "--devices", "2", "--twice")
    assert result.returncode == 0, result.stderr
    first, second = _records(tmp_path, "rank"), _records(tmp_path, "run2-rank")
    assert sorted(first) == sorted(second) == [0, 1]
    for records in (first, second):
        assert {r["sum"] for r in records.values()} == {3.0}
        assert all(r["gathered"] == [0, 1] and r["world_size"] == 2 for r in records.values())
        assert all(r["environment"] == "LightningEnvironment" for r in records.values())
        assert [records[i]["sampler"] for i in (0, 1)] == [
            {"num_replicas": 2, "rank": 0},
            {"num_replicas": 2, "rank": 1},
        ]
    assert first[0]["pid"] != first[1]["pid"]
    assert (first[0]["has_launcher"], first[1]["has_launcher"]) == (True, False)
    # The second strategy joins the running job instead of starting more processes.
    assert (second[0]["has_launcher"], second[1]["has_launcher"]) == (False, False)
    assert second[1]["pid"] == first[1]["pid"]


def test_a_raising_rank_ends_the_whole_job_with_its_traceback(tmp_path):
    start = time.monotonic()
    result = _run(tmp_path, "--mode", "raise")
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert elapsed < 30
    assert "ValueError: boom from rank 1" in result.stderr
    assert "rank 1 (local rank 1" in result.stderr and "exited with code 1" in result.stderr


def test_a_killed_rank_ends_the_whole_job(tmp_path):
    start = time.monotonic()
    result = _run(tmp_path, "--mode", "kill")
    assert result.returncode != 0
    assert time.monotonic() - start < 30
    assert "was killed by SIGKILL" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_children_end_with_the_main_process(tmp_path, sig):
    """SIGTERM is forwarded to the children; after SIGKILL they notice their parent is gone."""
    command = [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--mode", "sleep"]
    main = subprocess.Popen(command, env=_env(), stderr=subprocess.PIPE, text=True)
    pids: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 45
        while len(pids) < 2 and time.monotonic() < deadline and main.poll() is None:
            time.sleep(0.1)
            pids = _pids(tmp_path)
        assert len(pids) == 2, (
            main.stderr.read() if main.poll() is not None else "ranks did not start"
        )
        main.send_signal(sig)
        main.wait(timeout=15)
        assert main.returncode != 0
        assert _wait_gone(pids[1], 15), "local rank 1 outlived the main process"
    finally:
        if main.poll() is None:
            main.kill()
        main.stderr.close()
        _cleanup(pids.values())


def test_two_nodes_on_one_machine(tmp_path):
    port = str(find_free_port())
    command = [
        sys.executable,
        str(SCRIPT),
        "--out",
        str(tmp_path),
        "--devices",
        "1",
        "--num-nodes",
        "2",
    ]
    nodes = [
        subprocess.Popen(
            command,
            env=_env(MASTER_PORT=port, NODE_RANK=str(rank)),
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        errors = [node.communicate(timeout=60)[1] for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    assert [node.returncode for node in nodes] == [0, 0], errors
    records = _records(tmp_path)
    assert sorted(records) == [0, 1]
    assert [records[r]["node_rank"] for r in (0, 1)] == [0, 1]
    assert [records[r]["local_rank"] for r in (0, 1)] == [0, 0]
    assert {records[r]["sum"] for r in (0, 1)} == {3.0}
    assert all(r["world_size"] == 2 and r["gathered"] == [0, 1] for r in records.values())


def test_torchrun_is_detected(tmp_path):
    port = str(find_free_port())
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        port,
        str(SCRIPT),
        "--out",
        str(tmp_path),
        "--devices",
        "auto",
        "--strategy",
        "auto",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=_env())
    assert result.returncode == 0, result.stderr
    records = _records(tmp_path)
    assert sorted(records) == [0, 1]
    for rank, record in records.items():
        assert record["environment"] == "TorchElasticEnvironment"
        assert record["strategy"] == "DDPStrategy" and record["has_launcher"] is False
        assert (record["world_size"], record["local_rank"], record["sum"]) == (2, rank, 3.0)


def test_script_command(monkeypatch, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("")
    main = type(sys)("__main__")
    main.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(sys, "argv", [str(script), "--lr", "1"])
    assert script_command() == [sys.executable, str(script), "--lr", "1"]

    main.__spec__ = type("Spec", (), {"name": "mypkg.train"})()
    assert script_command() == [sys.executable, "-m", "mypkg.train", "--lr", "1"]
    main.__spec__ = type("Spec", (), {"name": "mypkg.__main__"})()
    assert script_command()[:3] == [sys.executable, "-m", "mypkg"]

    main.__spec__ = None
    monkeypatch.setattr(sys, "argv", ["-c"])
    with pytest.raises(RuntimeError, match="not started from a script file.*ddp_spawn"):
        script_command()


def test_launch_without_children_runs_in_process():
    launcher = SubprocessScriptLauncher(LightningEnvironment(), num_processes=1, num_nodes=1)
    assert launcher.is_interactive_compatible is False
    assert launcher.launch(lambda a, b=0: a + b, 1, b=2) == 3
    assert launcher.procs == {}
    assert os.environ["LOCAL_RANK"] == "0"  # later strategies join this job (restored by conftest)
    with pytest.raises(ValueError, match="must both be >= 1"):
        SubprocessScriptLauncher(LightningEnvironment(), num_processes=0, num_nodes=1)
