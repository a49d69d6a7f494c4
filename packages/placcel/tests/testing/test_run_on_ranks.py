import multiprocessing
import os
import time

import pytest
import torch
import torch.distributed as dist

from placcel.testing import RankFailedError, run_on_ranks


def rank_and_args(offset, scale=1):
    value = torch.tensor(float(dist.get_rank()))
    dist.all_reduce(value)
    return {
        "rank": dist.get_rank(),
        "sum": value.item(),
        "arg": (offset + dist.get_rank()) * scale,
        "env": os.environ["RANK"],
    }


def fail_on_rank_one():
    if dist.get_rank() == 1:
        raise ZeroDivisionError("rank one divides by zero")
    dist.barrier()  # rank 0 blocks here; the helper must not wait for it


def sleep_forever(pid_dir):
    with open(os.path.join(pid_dir, f"{dist.get_rank()}.pid"), "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(600)


@pytest.mark.distributed
def test_returns_each_rank_result_in_rank_order():
    results = run_on_ranks(rank_and_args, 2, 60, 10, scale=2)
    assert results == [
        {"rank": 0, "sum": 1.0, "arg": 20, "env": "0"},
        {"rank": 1, "sum": 1.0, "arg": 22, "env": "1"},
    ]


@pytest.mark.distributed
def test_failing_rank_raises_with_its_traceback():
    start = time.monotonic()
    with pytest.raises(
        RankFailedError, match=r"rank 1 failed:(.|\n)*ZeroDivisionError: rank one divides by zero"
    ):
        run_on_ranks(fail_on_rank_one, 2, 60)
    assert time.monotonic() - start < 30


@pytest.mark.distributed
@pytest.mark.slow
def test_timeout_kills_every_rank(tmp_path):
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"ranks \[0, 1\] did not finish within timeout=6s"):
        run_on_ranks(sleep_forever, 2, 6, str(tmp_path))
    assert time.monotonic() - start < 20
    assert multiprocessing.active_children() == []  # every rank was killed and reaped
    for path in tmp_path.glob("*.pid"):  # the ranks that got as far as writing their pid
        with pytest.raises(ProcessLookupError):
            os.kill(int(path.read_text()), 0)


def test_world_size_must_be_positive():
    with pytest.raises(ValueError, match="world_size=0"):
        run_on_ranks(rank_and_args, 0)
