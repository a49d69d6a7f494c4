"""FSDPStrategy(state_dict_type="sharded") with an asynchronous checkpoint IO, on 2 gloo ranks.

A storage writer that waits on a gate shows what the loop does not wait for: ``save_checkpoint``
returns while every rank's write is still blocked, no folder exists under the final name until
the writes end, training goes on meanwhile (its collectives do not mix with DCP's) and the
folder holds the weights as they were at the save. A removal queued behind the save runs after
it; a writer that raises on one rank leaves no folder, keeps the older checkpoint it would have
replaced, and its error is raised on every rank by the next save, then by ``teardown``; a rank
killed in the middle of its write leaves no folder under the final name either.
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import Any

import pytest
import torch
from torch import nn

from placcel import build_strategy
from placcel.strategies import FSDPStrategy
from placcel.testing import RankFailedError, run_on_ranks

pytestmark = pytest.mark.distributed


class _GatedWriter:
    """A FileSystemWriter whose ``write_data`` waits for ``gate`` (and may raise instead)."""

    @staticmethod
    def make(path: str, gate: threading.Event, fail: bool) -> Any:
        from torch.distributed.checkpoint import FileSystemWriter

        class Writer(FileSystemWriter):
            def write_data(self, plan: Any, planner: Any) -> Any:
                if not gate.wait(60):
                    raise TimeoutError("the test never opened the gate")
                if fail:
                    raise OSError("No space left on device (test)")
                return super().write_data(plan, planner)

        return Writer(path)


class _DyingIO:
    """An asynchronous IO whose writer on rank 1 kills its process in the middle of the write."""

    is_async = True

    def save_checkpoint(self, checkpoint: dict, path: str, storage_options: Any = None) -> None:
        torch.save(checkpoint, path)

    def remove_checkpoint(self, path: str) -> None:
        shutil.rmtree(path)

    def storage_writer(self, path: str) -> Any:
        import torch.distributed as dist
        from torch.distributed.checkpoint import FileSystemWriter

        class Writer(FileSystemWriter):
            def write_data(self, plan: Any, planner: Any) -> Any:
                if dist.get_rank() == 1:
                    os._exit(3)
                return super().write_data(plan, planner)

        return Writer(path)


class _AsyncIO:
    """A duck-typed asynchronous checkpoint IO (placcel's tests run without plcore)."""

    is_async = True

    def __init__(self) -> None:
        self.gate = threading.Event()  # the gate and failure of the writers made from now on
        self.fail = False

    def save_checkpoint(self, checkpoint: dict, path: str, storage_options: Any = None) -> None:
        torch.save(checkpoint, path)

    def load_checkpoint(self, path: str, map_location: Any = None) -> dict:
        return torch.load(path, map_location=map_location, weights_only=True)

    def remove_checkpoint(self, path: str) -> None:
        shutil.rmtree(path)

    def storage_writer(self, path: str) -> Any:
        return _GatedWriter.make(path, self.gate, self.fail)


def _local(state: dict) -> dict:
    return {k: v.to_local().detach().clone() for k, v in state.items()}


def _saves_in_background(root: str) -> dict:
    import torch.distributed as dist

    io = _AsyncIO()
    strategy = build_strategy(
        accelerator="cpu",
        strategy=FSDPStrategy(state_dict_type="sharded"),
        devices=2,
        checkpoint_io=io,
    )
    strategy.setup_environment()
    torch.manual_seed(0)
    model = strategy.setup_module(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))[dist.get_rank() :: 2]

    def step() -> None:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()

    def save(name: str, step_count: int) -> None:
        checkpoint = {
            "state_dict": strategy.module_state_dict(model),
            "optimizer_states": [strategy.optimizer_state(opt)],
            "global_step": step_count,
        }
        strategy.save_checkpoint(checkpoint, os.path.join(root, name))

    seen: dict[str, Any] = {}
    io.gate.set()
    step()
    save("old.ckpt", 1)
    step()
    io.gate = threading.Event()  # the writers made from now on wait (not old.ckpt's)
    at_save = _local(strategy.module_state_dict(model))
    save("new.ckpt", 2)
    seen["new_named_while_writing"] = os.path.exists(os.path.join(root, "new.ckpt"))
    seen["hidden_while_writing"] = [p for p in os.listdir(root) if p.startswith(".")]
    strategy.remove_checkpoint(os.path.join(root, "old.ckpt"))
    seen["old_kept_while_writing"] = os.path.isdir(os.path.join(root, "old.ckpt"))
    step()  # the loop goes on: FSDP's collectives while DCP's wait on their own group
    seen["moved_on"] = not torch.equal(
        _local(strategy.module_state_dict(model))["0.weight"], at_save["0.weight"]
    )
    strategy.barrier()
    io.gate.set()
    loaded = strategy.load_checkpoint(os.path.join(root, "new.ckpt"))  # waits for the save
    seen["point_in_time"] = all(
        torch.equal(v, at_save[k]) for k, v in _local(loaded["state_dict"]).items()
    )
    seen["meta_step"] = loaded["global_step"]
    seen["after"] = sorted(os.listdir(root))
    seen["files"] = sorted(os.listdir(os.path.join(root, "new.ckpt")))

    # a writer that fails on rank 1: no folder, the older one kept, the error on every rank
    io.fail = dist.get_rank() == 1
    save("bad.ckpt", 3)
    strategy.remove_checkpoint(os.path.join(root, "new.ckpt"))  # skipped: bad.ckpt failed
    with pytest.raises(RuntimeError, match="written in the background failed") as raised:
        save("next.ckpt", 4)
    seen["cause"] = type(raised.value.__cause__).__name__
    strategy.barrier()
    seen["after_failure"] = sorted(os.listdir(root))
    save("last.ckpt", 5)  # still failing on rank 1: teardown raises it
    with pytest.raises(RuntimeError, match="written in the background failed"):
        strategy.teardown()
    dist.barrier()
    seen["end"] = sorted(os.listdir(root))
    return seen


def test_sharded_saves_run_in_the_background(tmp_path):
    rank0, rank1 = run_on_ranks(_saves_in_background, 2, 120, str(tmp_path))
    assert rank0["new_named_while_writing"] is False
    assert rank0["hidden_while_writing"] and rank0["hidden_while_writing"][0].startswith(
        ".new.ckpt.tmp-"
    )
    assert rank0["old_kept_while_writing"] is True  # the removal waits behind the write
    for seen in (rank0, rank1):
        assert seen["point_in_time"] and seen["moved_on"]
        assert seen["meta_step"] == 2
        assert seen["after"] == ["new.ckpt"]
        assert seen["files"] == [".metadata", "__0_0.distcp", "__1_0.distcp", "meta.pt"]
        # the failed save left nothing; the folder it would have replaced is still there
        assert seen["after_failure"] == ["new.ckpt"]
        assert seen["end"] == ["new.ckpt"]
    # DCP's own error, raised on both ranks (rank 0's write went fine)
    assert rank0["cause"] == rank1["cause"] == "CheckpointException"


def _dies_while_writing(root: str) -> None:
    strategy = build_strategy(
        accelerator="cpu",
        strategy=FSDPStrategy(state_dict_type="sharded"),
        devices=2,
        checkpoint_io=_DyingIO(),
    )
    strategy.setup_environment()
    model = strategy.setup_module(nn.Linear(4, 2))
    checkpoint = {"state_dict": strategy.module_state_dict(model), "global_step": 1}
    strategy.save_checkpoint(checkpoint, os.path.join(root, "crash.ckpt"))
    strategy.teardown()  # rank 0 waits here for rank 1's part, which never comes


def test_a_rank_killed_mid_write_leaves_no_folder_under_the_final_name(tmp_path):
    with pytest.raises(RankFailedError, match="rank 1"):
        run_on_ranks(_dies_while_writing, 2, 60, str(tmp_path))
    assert "crash.ckpt" not in os.listdir(tmp_path)
