import os

import pytest
import torch
import torch.multiprocessing

from placcel import MultiProcessingLauncher, build_strategy


def spawned_work(strategy, scale):
    """Runs in each spawned rank (module level, so spawn can import it)."""
    strategy.setup_environment()
    total = strategy.reduce(torch.tensor(float(strategy.global_rank + 1)), "sum")
    result = {
        "rank": strategy.global_rank,
        "local_rank": strategy.local_rank,
        "total": total.item() * scale,
    }
    strategy.teardown()
    return result


def spawned_failure(strategy):
    strategy.setup_environment()
    if strategy.global_rank == 1:
        raise KeyError("rank one is broken")
    strategy.barrier()  # rank 0 waits here until rank 1's death tears the job down
    return "unreachable"


@pytest.mark.distributed
def test_spawn_returns_rank_zero_result():
    strategy = build_strategy(accelerator="cpu", strategy="ddp_spawn", devices=2)
    assert isinstance(strategy.launcher, MultiProcessingLauncher)
    assert strategy.launcher.is_interactive_compatible is False
    result = strategy.launcher.launch(spawned_work, strategy, 10.0)
    assert result == {"rank": 0, "local_rank": 0, "total": 30.0}
    assert os.environ["MASTER_ADDR"] == "127.0.0.1"  # set for the workers (restored by conftest)


@pytest.mark.distributed
def test_spawn_raises_the_failing_rank_traceback():
    strategy = build_strategy(accelerator="cpu", strategy="ddp_spawn", devices=2)
    with pytest.raises(torch.multiprocessing.ProcessRaisedException, match="rank one is broken"):
        strategy.launcher.launch(spawned_failure, strategy)


def test_unpicklable_function_gets_a_clear_error():
    strategy = build_strategy(accelerator="cpu", strategy="ddp_spawn", devices=2)
    with pytest.raises(TypeError, match="needs a picklable function"):
        strategy.launcher.launch(lambda s: s, strategy)


def test_start_method_validation():
    strategy = build_strategy(accelerator="cpu", strategy="ddp_spawn", devices=2)
    with pytest.raises(ValueError, match="start_method='popen' is not valid"):
        MultiProcessingLauncher(strategy, start_method="popen")
    assert MultiProcessingLauncher(strategy, start_method="fork").is_interactive_compatible


@pytest.mark.distributed
def test_fork_runs_without_pickling():
    strategy = build_strategy(accelerator="cpu", strategy="ddp_fork", devices=2)
    offset = 100.0
    # A closure: fine for fork, which copies the process instead of pickling the function.
    result = strategy.launcher.launch(lambda: spawned_work(strategy, 1.0)["total"] + offset)
    assert result == 103.0
