import copy
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from placcel import DDPStrategy, TorchCollectives, build_strategy
from placcel.collectives import SingleProcessCollectives
from placcel.testing import run_on_ranks


def _tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def _data():
    generator = torch.Generator().manual_seed(1)
    return torch.randn(8, 4, generator=generator), torch.randn(8, 1, generator=generator)


def _train(model, step_fn, x, y, steps=3):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):

        def closure():
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            step_fn(loss)
            return loss

        optimizer.step(closure)


def ddp_training_on_two_ranks():
    """Runs on each rank: DDP on half the batch vs one process on the whole batch."""
    strategy = build_strategy(accelerator="cpu", strategy="ddp", devices=2)
    assert strategy.launcher is None  # run_on_ranks looks like torchrun
    strategy.setup_environment()
    rank = strategy.global_rank
    x, y = _data()
    reference = _tiny_model()
    _train(reference, lambda loss: loss.backward(), x, y)

    wrapped = strategy.setup_module(_tiny_model())
    assert isinstance(wrapped, DistributedDataParallel)
    half = slice(4 * rank, 4 * rank + 4)
    _train(wrapped, lambda loss: strategy.backward(loss, lambda t: t.backward()), x[half], y[half])
    module = strategy.unwrap_module(wrapped)

    # no_backward_sync: local gradients differ between ranks, synced ones agree.
    wrapped.zero_grad()
    with strategy.no_backward_sync(wrapped, enabled=True):
        torch.nn.functional.mse_loss(wrapped(x[half]), y[half]).backward()
    local = module[0].weight.grad.clone()
    wrapped.zero_grad()
    torch.nn.functional.mse_loss(wrapped(x[half]), y[half]).backward()
    synced = module[0].weight.grad.clone()

    result = {
        "rank": rank,
        "weights": [p.detach().clone() for p in module.parameters()],
        "reference": [p.detach().clone() for p in reference.parameters()],
        "local": local,
        "synced": synced,
        "sampler": strategy.distributed_sampler_kwargs,
    }
    strategy.teardown()
    assert dist.is_initialized()  # run_on_ranks created the group, so the strategy keeps it
    return result


@pytest.mark.distributed
def test_ddp_on_two_ranks_matches_one_process_on_the_whole_batch():
    results = run_on_ranks(ddp_training_on_two_ranks, 2, 60)
    first, second = results
    assert [r["sampler"] for r in results] == [
        {"num_replicas": 2, "rank": 0},
        {"num_replicas": 2, "rank": 1},
    ]
    for ours, theirs, reference in zip(first["weights"], second["weights"], first["reference"]):
        assert torch.equal(ours, theirs)
        assert torch.allclose(ours, reference, atol=1e-5)
    assert not torch.allclose(first["local"], second["local"])
    assert torch.allclose(first["synced"], second["synced"])


def test_single_process_group_lifecycle():
    """World size 1 in this process: setup creates a gloo group, which outlives teardown (as in
    Lightning: the next entry point reuses it; it is destroyed when the process exits)."""
    strategy = build_strategy(accelerator="cpu", strategy="ddp", devices=1)
    with pytest.raises(RuntimeError, match="call setup_environment"):
        strategy.setup_module(torch.nn.Linear(2, 2))
    strategy.setup_environment()
    assert dist.is_initialized() and dist.get_backend() == "gloo"
    assert isinstance(strategy.collectives, TorchCollectives)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    wrapped = strategy.setup_module(model)
    assert isinstance(wrapped, DistributedDataParallel)
    assert strategy.unwrap_module(wrapped) is model
    strategy.sync_batchnorm = True
    with pytest.raises(ValueError, match="sync_batchnorm=True needs CUDA"):
        strategy.setup_module(torch.nn.BatchNorm1d(2))
    assert strategy.no_backward_sync(wrapped, enabled=True).__class__.__name__ != "nullcontext"
    assert strategy.reduce(torch.tensor(3.0)) == 3.0
    assert strategy.all_gather(torch.tensor([1.0])).shape == (1, 1)
    assert strategy.reduce_boolean_decision(True)
    strategy.teardown()
    assert dist.is_initialized()
    assert isinstance(strategy.collectives, SingleProcessCollectives)
    # A second fit with the same strategy joins the same group.
    group = dist.group.WORLD
    strategy.setup_environment()
    assert dist.group.WORLD is group
    assert isinstance(strategy.collectives, TorchCollectives)
    strategy.teardown()


def test_constructor_validation():
    with pytest.raises(ValueError, match="start_method='thread' is not valid"):
        DDPStrategy(start_method="thread")
    with pytest.raises(TypeError, match="timedelta"):
        DDPStrategy(timeout=30)
    with pytest.raises(RuntimeError, match="has no parallel_devices"):
        DDPStrategy().root_device
    assert "devices=None" in repr(DDPStrategy())  # a repr never raises
    with pytest.raises(ValueError, match="num_nodes=0"):
        DDPStrategy().num_nodes = 0
    assert DDPStrategy(timeout=timedelta(seconds=5)).timeout == timedelta(seconds=5)


@pytest.mark.cuda
def test_nccl_on_one_gpu():
    strategy = build_strategy(
        accelerator="cuda", strategy="ddp", devices=1, precision="16-mixed", sync_batchnorm=True
    )
    strategy.setup_environment()
    assert dist.get_backend() == "nccl"
    wrapped = strategy.setup_module(
        torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.BatchNorm1d(1))
    )
    assert wrapped.device_ids == [0]
    assert isinstance(strategy.unwrap_module(wrapped)[1], torch.nn.SyncBatchNorm)
    batch = strategy.batch_to_device((torch.ones(2, 4), {"y": torch.zeros(2, 1)}))
    assert batch[0].device.type == "cuda" and batch[1]["y"].device.type == "cuda"
    optimizer = torch.optim.SGD(wrapped.parameters(), lr=0.1)

    def closure():
        optimizer.zero_grad()
        with strategy.forward_context():
            loss = torch.nn.functional.mse_loss(wrapped(batch[0]).float(), batch[1]["y"])
        strategy.backward(loss, lambda t: t.backward())
        return loss

    before = copy.deepcopy(strategy.unwrap_module(wrapped)[0].weight.detach())
    strategy.optimizer_step(optimizer, closure, lambda: None)
    assert not torch.equal(before, strategy.unwrap_module(wrapped)[0].weight)
    assert strategy.reduce(torch.ones(1, device="cuda"), "sum").item() == 1.0
    strategy.barrier()
    strategy.teardown()
