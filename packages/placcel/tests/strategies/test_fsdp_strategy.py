"""FSDPStrategy: its arguments, its registered names, and (on 2 gloo ranks) each sharding
strategy, CPU offload and activation checkpointing giving DDP's numbers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from placcel import build_strategy
from placcel.strategies import FSDPStrategy
from placcel.strategies.fsdp import _selected
from placcel.testing import run_on_ranks


def test_registered_names():
    assert isinstance(build_strategy(accelerator="cpu", strategy="fsdp", devices=2), FSDPStrategy)
    offload = build_strategy(accelerator="cpu", strategy="fsdp_cpu_offload", devices=2)
    assert isinstance(offload, FSDPStrategy) and offload.cpu_offload is True
    assert offload.state_dict_type == "full"  # Lightning's default


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sharding_strategy": "ZERO"}, ValueError, r"sharding_strategy='ZERO' is not valid"),
        ({"state_dict_type": "local"}, ValueError, r"state_dict_type='local' is not valid"),
        ({"auto_wrap_policy": {3}}, TypeError, "must be a set of nn.Module classes"),
        ({"activation_checkpointing_policy": "Linear"}, TypeError, "must be a set of nn.Module"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        FSDPStrategy(**kwargs)


def test_policies_sets_and_callables():
    assert _selected((nn.Linear,), nn.Linear(1, 1)) and not _selected((nn.Linear,), nn.Tanh())
    assert _selected(lambda m: isinstance(m, nn.Tanh), nn.Tanh())

    def fsdp1_policy(module, recurse, nonwrapped_numel):
        return recurse or nonwrapped_numel >= 4

    assert _selected(fsdp1_policy, nn.Linear(2, 2)) and not _selected(fsdp1_policy, nn.Linear(1, 1))
    assert FSDPStrategy(sharding_strategy="shard_grad_op").sharding_strategy == "SHARD_GRAD_OP"


def test_needs_the_process_group():
    strategy = build_strategy(accelerator="cpu", strategy="fsdp", devices=2)
    with pytest.raises(RuntimeError, match="needs the process group"):
        strategy.setup_module(nn.Linear(2, 2))


class _RecordingIO:
    """A checkpoint IO that records the keyword arguments each load is given."""

    def __init__(self) -> None:
        self.loads: list[dict] = []

    def load_checkpoint(self, path, **kwargs):
        self.loads.append(kwargs)
        return {"path": path}


def test_load_checkpoint_passes_weights_only(tmp_path):
    # the Trainer's entry points call strategy.load_checkpoint(path, weights_only=...)
    io = _RecordingIO()
    strategy = FSDPStrategy(checkpoint_io=io)
    ckpt = tmp_path / "last.ckpt"
    ckpt.write_bytes(b"")
    assert strategy.load_checkpoint(str(ckpt), weights_only=False) == {"path": str(ckpt)}
    strategy.load_checkpoint(str(ckpt))
    assert io.loads == [{"map_location": None, "weights_only": False}, {"map_location": None}]


def _train(kwargs: dict) -> dict:
    """Three Adam steps on this rank's half of the batch under FSDP; the full weights."""
    import torch.distributed as dist

    strategy = build_strategy(accelerator="cpu", strategy=FSDPStrategy(**kwargs), devices=2)
    strategy.setup_environment()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    model = strategy.setup_module(model)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    rank = dist.get_rank()
    for _ in range(3):
        opt.zero_grad()
        nn.functional.mse_loss(model(x[rank::2]), x[rank::2].sum(1, keepdim=True)).backward()
        opt.step()
    full = strategy.module_state_dict(model) if strategy.state_dict_type == "full" else {}
    return {k: v.clone() for k, v in full.items()}


def _reference() -> dict:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    order = list(range(0, 16, 2)) + list(range(1, 16, 2))
    for _ in range(3):
        opt.zero_grad()
        nn.functional.mse_loss(model(x[order]), x[order].sum(1, keepdim=True)).backward()
        opt.step()
    return model.state_dict()


@pytest.mark.distributed
@pytest.mark.parametrize(
    "kwargs",
    [
        {"sharding_strategy": "NO_SHARD"},
        {"sharding_strategy": "SHARD_GRAD_OP", "auto_wrap_policy": {nn.Linear}},
        {"cpu_offload": True, "activation_checkpointing_policy": {nn.Linear}},
    ],
    ids=["no_shard", "shard_grad_op", "offload_and_activation_checkpointing"],
)
def test_variants_train_as_one_process(kwargs):
    results = run_on_ranks(_train, 2, 120, kwargs)
    for key, value in _reference().items():
        torch.testing.assert_close(results[0][key], value, rtol=0, atol=1e-5)
    assert results[1] == {}  # the full state is gathered on rank 0 only
