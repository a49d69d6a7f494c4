from contextlib import nullcontext

import pytest
import torch

from placcel import DDPStrategy, SingleDeviceStrategy, build_strategy
from placcel.environments import TorchElasticEnvironment
from placcel.precision import DoublePrecision


class RecordingCheckpointIO:
    def __init__(self):
        self.calls = []

    def save_checkpoint(self, checkpoint, path):
        self.calls.append(("save", checkpoint, path))

    def load_checkpoint(self, path, map_location=None):
        self.calls.append(("load", path, map_location))
        return {"loaded": path}

    def remove_checkpoint(self, path):
        self.calls.append(("remove", path))


def test_training_step_pieces():
    strategy = build_strategy(accelerator="cpu")
    strategy.setup_environment()
    model = torch.nn.Linear(2, 1)
    assert strategy.setup_module(model) is model
    assert strategy.unwrap_module(model) is model
    assert isinstance(strategy.forward_context(), nullcontext)
    assert isinstance(strategy.no_backward_sync(model, True), nullcontext)
    calls = []
    loss = torch.tensor(1.0)
    strategy.backward(loss, lambda tensor, flag: calls.append((tensor, flag)), "x")
    assert calls == [(loss, "x")]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert strategy.optimizer_step(optimizer, lambda: loss, lambda: calls.append("after")) is loss
    assert calls[-1] == "after"
    strategy.teardown()


def test_collectives_are_the_null_object():
    strategy = build_strategy(accelerator="cpu")
    value = torch.tensor([1.0, 2.0])
    assert strategy.reduce(value, "sum") is value
    assert strategy.reduce(3.5) == 3.5  # non-tensors pass through
    assert strategy.all_gather(value) is value  # Lightning's single device: no new dimension
    assert strategy.broadcast({"a": 1}) == {"a": 1}
    strategy.barrier("name")
    assert strategy.reduce_boolean_decision(True) and not strategy.reduce_boolean_decision(
        False, all=False
    )


def test_setup_module_converts_precision_and_device():
    strategy = build_strategy(accelerator="cpu", precision="64-true")
    model = strategy.setup_module(torch.nn.Linear(2, 1))
    assert model.weight.dtype == torch.float64
    batch = strategy.batch_to_device(
        {"x": torch.ones(2), "i": torch.tensor([1])}, torch.device("meta")
    )
    assert batch["x"].device.type == "meta"
    # The true precisions cast floating inputs like the weights; integers stay.
    assert (batch["x"].dtype, batch["i"].dtype) == (torch.float64, torch.int64)
    assert strategy.precision.converts_input
    assert strategy.batch_to_device(torch.ones(1)).device == torch.device("cpu")
    plain = build_strategy(accelerator="cpu")
    assert not plain.precision.converts_input
    assert plain.batch_to_device(torch.ones(1)).dtype == torch.float32


def test_checkpoints_go_through_checkpoint_io_on_rank_zero():
    io = RecordingCheckpointIO()
    strategy = build_strategy(accelerator="cpu", checkpoint_io=io)
    strategy.save_checkpoint({"step": 1}, "a.ckpt")
    assert strategy.load_checkpoint("a.ckpt", map_location="cpu") == {"loaded": "a.ckpt"}
    strategy.remove_checkpoint("a.ckpt")
    assert io.calls == [
        ("save", {"step": 1}, "a.ckpt"),
        ("load", "a.ckpt", "cpu"),
        ("remove", "a.ckpt"),
    ]


def test_other_ranks_do_not_write(monkeypatch):
    for name, value in {
        "RANK": "1",
        "WORLD_SIZE": "2",
        "LOCAL_RANK": "1",
        "MASTER_ADDR": "x",
        "MASTER_PORT": "1",
    }.items():
        monkeypatch.setenv(name, value)
    io = RecordingCheckpointIO()
    strategy = DDPStrategy(
        parallel_devices=[torch.device("cpu")] * 2,
        cluster_environment=TorchElasticEnvironment(),
        checkpoint_io=io,
    )
    assert not strategy.is_global_zero
    strategy.save_checkpoint({"step": 1}, "a.ckpt")
    strategy.remove_checkpoint("a.ckpt")
    assert strategy.load_checkpoint("a.ckpt") == {"loaded": "a.ckpt"}
    assert io.calls == [("load", "a.ckpt", None)]


def test_missing_checkpoint_io_is_a_clear_error():
    strategy = build_strategy(accelerator="cpu")
    for call in (lambda: strategy.save_checkpoint({}, "a"), lambda: strategy.load_checkpoint("a")):
        with pytest.raises(RuntimeError, match="checkpoint_io is not set"):
            call()


def test_precision_state_dict_round_trip():
    strategy = build_strategy(accelerator="cpu")
    assert strategy.precision_state_dict() == {}
    strategy.load_precision_state_dict({})


def test_constructor_validation():
    assert SingleDeviceStrategy().root_device == torch.device("cpu")
    assert SingleDeviceStrategy(device=1).root_device == torch.device("cuda", 1)
    with pytest.raises(TypeError, match="is not a device"):
        SingleDeviceStrategy(device=1.0)
    with pytest.raises(TypeError, match="is not a Precision"):
        SingleDeviceStrategy(precision="64-true").precision = "64-true"
    with pytest.raises(RuntimeError, match="has no accelerator"):
        SingleDeviceStrategy().setup_environment()
    assert SingleDeviceStrategy(precision=DoublePrecision()).precision.precision == "64-true"
