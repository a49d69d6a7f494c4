import pytest
import torch
import torch.distributed as dist

from placcel import SingleProcessCollectives, TorchCollectives, build_strategy
from placcel.testing import run_on_ranks


def collectives_on_two_ranks():
    """Runs on each rank; returns what every collective produced there."""
    collectives = TorchCollectives()
    rank = collectives.global_rank
    value = torch.tensor([float(rank + 1), 10.0 * (rank + 1)])
    out = {name: collectives.reduce(value, name) for name in ("mean", "sum", "max", "min", "avg")}
    out["op_sum"] = collectives.reduce(value, dist.ReduceOp.SUM)
    out["untouched"] = value.clone()
    out["int_mean"] = collectives.reduce(torch.tensor(rank + 2), "mean")
    out["gathered"] = collectives.all_gather(torch.full((3,), float(rank)))

    leaf = torch.tensor([float(rank + 1)], requires_grad=True)
    (collectives.all_gather(leaf, sync_grads=True) * torch.tensor([[1.0], [2.0]])).sum().backward()
    out["gather_grad"] = leaf.grad.clone()

    out["broadcast"] = collectives.broadcast({"from": rank, "items": [rank]}, src=0)
    out["broadcast_src1"] = collectives.broadcast(f"rank{rank}", src=1)
    collectives.barrier("end")

    strategy = build_strategy(accelerator="cpu", devices=2)
    strategy.setup_environment()
    out["all_agree"] = strategy.reduce_boolean_decision(True)
    out["all_of_split"] = strategy.reduce_boolean_decision(rank == 0)
    out["any_of_split"] = strategy.reduce_boolean_decision(rank == 0, all=False)
    out["any_of_none"] = strategy.reduce_boolean_decision(False, all=False)
    out["strategy_sum"] = strategy.reduce(torch.tensor(1.0), "sum")
    out["world"] = (collectives.world_size, strategy.world_size, strategy.global_rank)
    return out


@pytest.mark.distributed
def test_collectives_on_two_gloo_ranks():
    first, second = run_on_ranks(collectives_on_two_ranks, 2, 60)
    for out, rank in ((first, 0), (second, 1)):
        assert torch.allclose(out["mean"], torch.tensor([1.5, 15.0]))
        assert torch.allclose(out["avg"], torch.tensor([1.5, 15.0]))
        assert torch.equal(out["sum"], torch.tensor([3.0, 30.0]))
        assert torch.equal(out["op_sum"], torch.tensor([3.0, 30.0]))
        assert torch.equal(out["max"], torch.tensor([2.0, 20.0]))
        assert torch.equal(out["min"], torch.tensor([1.0, 10.0]))
        assert torch.equal(out["untouched"], torch.tensor([rank + 1.0, 10.0 * (rank + 1)]))
        assert out["int_mean"].item() == 2.5
        assert torch.equal(out["gathered"], torch.tensor([[0.0] * 3, [1.0] * 3]))
        # Each rank's loss weights slice r by (r + 1); the gradients are summed over both losses.
        assert out["gather_grad"].item() == pytest.approx(2.0 * (1 + rank))
        assert out["broadcast"] == {"from": 0, "items": [0]}
        assert out["broadcast_src1"] == "rank1"
        assert out["all_agree"] is True
        assert out["all_of_split"] is False
        assert out["any_of_split"] is True
        assert out["any_of_none"] is False
        assert out["strategy_sum"].item() == 2.0
        assert out["world"] == (2, 2, rank)


def test_single_process_collectives_return_their_input():
    collectives = SingleProcessCollectives()
    value = torch.tensor([1.0, 2.0])
    assert (collectives.world_size, collectives.global_rank) == (1, 0)
    for op in ("mean", "sum", "max", "min", "avg"):
        assert collectives.reduce(value, op) is value
    assert collectives.all_gather(value) is value
    assert collectives.broadcast("x", src=0) == "x"
    assert collectives.barrier() is None
    with pytest.raises(ValueError, match=r"reduce_op='median' is not supported; write one of"):
        collectives.reduce(value, "median")


def test_unknown_reduce_op_is_refused_before_communicating():
    with pytest.raises(ValueError, match="reduce_op='prod' is not supported"):
        TorchCollectives().reduce(torch.ones(1), "prod")
