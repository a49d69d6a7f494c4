"""Run a plain function on N CPU processes joined in a gloo group: the distributed test helper.

Example (in a test module; the function must be importable, i.e. defined at module level)::

    def check_sum(scale):
        import torch.distributed as dist
        value = torch.tensor(float(dist.get_rank() * scale))
        dist.all_reduce(value)
        return value.item()

    def test_sum():
        assert run_on_ranks(check_sum, 2, 30, 10.0) == [10.0, 10.0]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import queue as queue_module
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from placcel._ports import find_free_port

__all__ = ["RankFailedError", "run_on_ranks"]

_ENV_KEYS = ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")


class RankFailedError(RuntimeError):
    """A rank raised (or died); the message holds that rank's traceback."""


def _rank_main(
    rank: int,
    world_size: int,
    port: int,
    timeout: float,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    results: Any,
) -> None:
    import torch.distributed as dist

    # The variables torchrun would set, so code under test sees a torchelastic-like job.
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(world_size),
    )
    try:
        dist.init_process_group(
            "gloo", rank=rank, world_size=world_size, timeout=timedelta(seconds=timeout)
        )
        # Plain pickle copies tensor data; the queue's own pickler would share it through file
        # descriptors that vanish when this process exits.
        value = pickle.dumps(fn(*args, **kwargs))
    except BaseException:
        # Stamp the failure before anything closes the group: the parent blames the rank that
        # failed first, not the ones that failed because it died.
        results.put((rank, False, (time.time(), traceback.format_exc())))
        raise SystemExit(1) from None
    results.put((rank, True, value))
    dist.destroy_process_group()


def run_on_ranks(
    fn: Callable[..., Any],
    world_size: int = 2,
    timeout: float = 60,
    *args: Any,
    **kwargs: Any,
) -> list[Any]:
    """Run ``fn(*args, **kwargs)`` on ``world_size`` spawned CPU ranks; return each rank's result.

    Each rank has a gloo process group (``127.0.0.1``, a free port) and the torchrun variables
    ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` set.

    Args:
        fn: a module-level (picklable) function; its return value must be picklable too.
        world_size: the number of ranks.
        timeout: seconds until every rank is killed and ``TimeoutError`` is raised.
        *args: positional arguments for ``fn``.
        **kwargs: keyword arguments for ``fn``.

    Raises:
        RankFailedError: a rank raised or died; the message has its traceback.
        TimeoutError: the ranks did not all finish within ``timeout`` seconds.
    """
    if world_size < 1:
        raise ValueError(f"world_size={world_size} is not valid; write an int >= 1.")
    context = mp.get_context("spawn")
    results = context.Queue()
    port = find_free_port()
    procs = [
        context.Process(
            target=_rank_main,
            args=(rank, world_size, port, timeout, fn, args, kwargs, results),
            daemon=True,
        )
        for rank in range(world_size)
    ]
    for proc in procs:
        proc.start()
    try:
        return _collect(procs, results, time.monotonic() + timeout, timeout)
    finally:
        _kill(procs)
        results.close()


def _collect(procs: list[Any], results: Any, deadline: float, timeout: float) -> list[Any]:
    outputs: dict[int, Any] = {}
    while len(outputs) < len(procs):
        try:
            rank, ok, value = results.get(timeout=0.1)
        except queue_module.Empty:
            _check_alive(procs, outputs, results)
            if time.monotonic() > deadline:
                waiting = [rank for rank in range(len(procs)) if rank not in outputs]
                raise TimeoutError(
                    f"ranks {waiting} did not finish within timeout={timeout}s; all were killed."
                ) from None
            continue
        if not ok:
            _raise_first_failure({rank: value}, results)
        outputs[rank] = pickle.loads(value)
    return [outputs[rank] for rank in range(len(procs))]


def _raise_first_failure(failures: dict[int, tuple[float, str]], results: Any) -> None:
    """Collect the failures reported within a second, then raise the earliest one."""
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        try:
            rank, ok, value = results.get(timeout=0.1)
        except queue_module.Empty:
            continue
        if not ok:
            failures[rank] = value
    first = min(failures, key=lambda rank: failures[rank][0])
    others = sorted(set(failures) - {first})
    note = f"\n(ranks {others} failed after it)" if others else ""
    raise RankFailedError(f"rank {first} failed:\n{failures[first][1]}{note}")


def _check_alive(procs: list[Any], outputs: dict[int, Any], results: Any) -> None:
    for rank, proc in enumerate(procs):
        if rank in outputs or proc.exitcode is None:
            continue
        # A report may still be in flight; give the queue a moment before blaming.
        try:
            other_rank, ok, value = results.get(timeout=1.0)
        except queue_module.Empty:
            raise RankFailedError(
                f"rank {rank} died with exit code {proc.exitcode} without reporting a result."
            ) from None
        if not ok:
            _raise_first_failure({other_rank: value}, results)
        outputs[other_rank] = pickle.loads(value)


def _kill(procs: list[Any]) -> None:
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
