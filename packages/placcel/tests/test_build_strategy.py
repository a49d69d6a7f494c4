import pytest
import torch

from placcel import (
    CPUAccelerator,
    DDPStrategy,
    DoublePrecision,
    HalfPrecision,
    MixedPrecision,
    MultiProcessingLauncher,
    Precision,
    SingleDeviceStrategy,
    SubprocessScriptLauncher,
    build_strategy,
)
from placcel.environments import LightningEnvironment, SLURMEnvironment, TorchElasticEnvironment


@pytest.fixture(autouse=True)
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_defaults_give_one_cpu_process():
    strategy = build_strategy()
    assert type(strategy) is SingleDeviceStrategy
    assert isinstance(strategy.accelerator, CPUAccelerator)
    assert type(strategy.precision) is Precision
    assert strategy.root_device == torch.device("cpu")
    assert strategy.launcher is None
    assert type(strategy.cluster_environment) is LightningEnvironment
    assert (strategy.world_size, strategy.global_rank, strategy.is_global_zero) == (1, 0, True)
    assert strategy.distributed_sampler_kwargs is None


@pytest.mark.parametrize(
    ("flags", "cls", "processes", "launcher"),
    [
        ({"devices": 1}, SingleDeviceStrategy, 1, type(None)),
        ({"devices": 2}, DDPStrategy, 2, SubprocessScriptLauncher),
        ({"devices": "3"}, DDPStrategy, 3, SubprocessScriptLauncher),
        ({"devices": 1, "strategy": "ddp"}, DDPStrategy, 1, SubprocessScriptLauncher),
        ({"devices": 2, "strategy": "ddp_spawn"}, DDPStrategy, 2, MultiProcessingLauncher),
        ({"devices": 2, "strategy": "ddp_fork"}, DDPStrategy, 2, MultiProcessingLauncher),
        ({"devices": 1, "strategy": "single_device"}, SingleDeviceStrategy, 1, type(None)),
    ],
)
def test_strategy_choice(flags, cls, processes, launcher):
    strategy = build_strategy(accelerator="cpu", **flags)
    assert type(strategy) is cls
    assert strategy.num_processes == processes
    assert type(strategy.launcher) is launcher


def test_ddp_details():
    strategy = build_strategy(
        accelerator="cpu", strategy="ddp_find_unused_parameters_true", devices=2
    )
    assert strategy.ddp_kwargs["find_unused_parameters"] is True
    assert not strategy.sync_batchnorm
    assert strategy.parallel_devices == [torch.device("cpu")] * 2
    assert strategy.distributed_sampler_kwargs == {"num_replicas": 2, "rank": 0}
    assert (strategy.world_size, strategy.global_rank, strategy.local_rank) == (2, 0, 0)
    assert (
        build_strategy(accelerator="cpu", strategy="ddp_spawn", devices=2).launcher.start_method
        == "spawn"
    )


@pytest.mark.parametrize(
    ("precision", "cls", "name"),
    [
        ("32-true", Precision, "32-true"),
        (32, Precision, "32-true"),
        (64, DoublePrecision, "64-true"),
        ("bf16", MixedPrecision, "bf16-mixed"),
        ("bf16-mixed", MixedPrecision, "bf16-mixed"),
        ("16-true", HalfPrecision, "16-true"),
        ("bf16-true", HalfPrecision, "bf16-true"),
    ],
)
def test_precision_flag(precision, cls, name):
    strategy = build_strategy(accelerator="cpu", precision=precision)
    assert type(strategy.precision) is cls
    assert strategy.precision.precision == name


@pytest.mark.parametrize(
    ("flags", "error", "match"),
    [
        ({"accelerator": "foo"}, ValueError, r"accelerator='foo' is not known; write one of \["),
        ({"accelerator": "tpu"}, ValueError, "torch_xla"),
        (
            {"accelerator": "gpu"},
            ValueError,
            r"torch.cuda.is_available\(\) is False.*accelerator='cpu'",
        ),
        ({"accelerator": "cuda", "devices": 1}, ValueError, "no CUDA device is available"),
        ({"devices": 0}, ValueError, "devices=0 is not valid"),
        ({"devices": -2}, TypeError, "devices=-2 is not valid"),  # Lightning's class
        ({"devices": [0, 1]}, TypeError, "number of processes"),
        ({"devices": True}, TypeError, "bool"),
        ({"num_nodes": 0}, ValueError, "num_nodes=0 is not valid; write an int >= 1"),
        ({"num_nodes": 1.0}, ValueError, "num_nodes=1.0"),
        (
            {"strategy": "foo"},
            ValueError,
            r"strategy='foo' is not known; write one of \['auto', 'single_device', 'ddp'",
        ),
        ({"strategy": "deepspeed"}, ValueError, "DeepSpeed is not supported; use strategy='ddp'"),
        ({"strategy": 3}, TypeError, "has type int"),
        (
            {"strategy": "single_device", "devices": 2},
            ValueError,
            "strategy='single_device' runs one process",
        ),
        ({"precision": "8"}, ValueError, r"precision='8' is not supported; write one of"),
        ({"devices": 1, "num_nodes": 2}, ValueError, "MASTER_PORT"),
        (
            {"devices": 2, "sync_batchnorm": True},
            ValueError,
            "sync_batchnorm=True needs CUDA devices",
        ),
    ],
)
def test_bad_flags_get_actionable_errors(flags, error, match):
    flags = {"accelerator": "cpu", **flags}
    with pytest.raises(error, match=match):
        build_strategy(**flags)


def test_strategy_instance_is_filled_in_and_keeps_its_parts():
    checkpoint_io = object()
    given = DDPStrategy(find_unused_parameters=True, static_graph=True, bucket_cap_mb=5)
    strategy = build_strategy(
        accelerator="cpu",
        strategy=given,
        devices=2,
        precision="64-true",
        checkpoint_io=checkpoint_io,
    )
    assert strategy is given
    assert isinstance(strategy.accelerator, CPUAccelerator)
    assert type(strategy.precision) is DoublePrecision
    assert strategy.checkpoint_io is checkpoint_io
    assert strategy.num_processes == 2
    assert strategy.ddp_kwargs == {
        "find_unused_parameters": True,
        "static_graph": True,
        "bucket_cap_mb": 5,
    }

    own = SingleDeviceStrategy(device="cpu", precision=HalfPrecision("bf16-true"))
    assert build_strategy(strategy=own, precision="64-true").precision.precision == "bf16-true"


def test_two_nodes_local(monkeypatch):
    monkeypatch.setenv("MASTER_PORT", "29512")
    monkeypatch.setenv("NODE_RANK", "1")
    strategy = build_strategy(accelerator="cpu", devices=2, num_nodes=2)
    assert type(strategy) is DDPStrategy
    assert (strategy.world_size, strategy.global_rank, strategy.node_rank, strategy.num_nodes) == (
        4,
        2,
        1,
        2,
    )
    assert strategy.distributed_sampler_kwargs == {"num_replicas": 4, "rank": 2}
    assert strategy.launcher.num_processes == 2 and strategy.launcher.num_nodes == 2


def test_child_of_our_launcher(monkeypatch):
    for name, value in {"LOCAL_RANK": "1", "WORLD_SIZE": "2", "MASTER_PORT": "29513"}.items():
        monkeypatch.setenv(name, value)
    strategy = build_strategy(accelerator="cpu", strategy="ddp", devices=2)
    assert strategy.launcher is None  # the process already exists
    assert (strategy.global_rank, strategy.local_rank, strategy.root_device) == (
        1,
        1,
        torch.device("cpu"),
    )
    # A later single-device Trainer in the same script works in every rank, as in Lightning.
    assert type(build_strategy(accelerator="cpu", devices=1)) is SingleDeviceStrategy
    with pytest.raises(ValueError, match=r"WORLD_SIZE=2 disagrees with the flags devices=3"):
        build_strategy(accelerator="cpu", strategy="ddp", devices=3)


@pytest.fixture
def torchrun(monkeypatch):
    variables = {
        "RANK": "1",
        "WORLD_SIZE": "2",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "2",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29514",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_torchrun_auto_follows_the_job(torchrun):
    strategy = build_strategy(accelerator="cpu")
    assert type(strategy) is DDPStrategy
    assert type(strategy.cluster_environment) is TorchElasticEnvironment
    assert strategy.launcher is None
    assert (strategy.num_processes, strategy.global_rank, strategy.world_size) == (2, 1, 2)


def test_torchrun_disagreement_names_variables_and_flags(torchrun):
    with pytest.raises(
        ValueError,
        match=r"WORLD_SIZE=2 \(LOCAL_WORLD_SIZE=2\) but the flags devices=1 x num_nodes=1",
    ):
        build_strategy(accelerator="cpu", devices=1)
    with pytest.raises(ValueError, match=r"WORLD_SIZE=2 .* devices=3 x num_nodes=1"):
        build_strategy(accelerator="cpu", devices=3)


def test_slurm(monkeypatch):
    variables = {
        "SLURM_NTASKS": "4",
        "SLURM_PROCID": "3",
        "SLURM_LOCALID": "1",
        "SLURM_NODEID": "1",
        "SLURM_NNODES": "2",
        "SLURM_NTASKS_PER_NODE": "2",
        "SLURM_JOB_NAME": "train",
        "SLURM_JOB_ID": "42",
        "SLURM_NODELIST": "node[3-4]",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    strategy = build_strategy(accelerator="cpu", num_nodes=2)
    assert type(strategy.cluster_environment) is SLURMEnvironment
    assert (
        strategy.num_processes,
        strategy.global_rank,
        strategy.local_rank,
        strategy.node_rank,
    ) == (2, 3, 1, 1)
    assert strategy.cluster_environment.main_address == "node3"
    with pytest.raises(ValueError, match=r"SLURM_NTASKS=4 .* devices=2 x num_nodes=1"):
        build_strategy(accelerator="cpu", num_nodes=1)


def test_cuda_devices_and_mps_limits(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    strategy = build_strategy(accelerator="gpu", devices=[1], precision="bf16-mixed")
    assert strategy.root_device == torch.device("cuda", 1)
    assert strategy.precision.device_type == "cuda"
    ddp = build_strategy(accelerator="cuda", devices="0,1", sync_batchnorm=True)
    assert ddp.sync_batchnorm
    assert ddp.parallel_devices == [torch.device("cuda", 0), torch.device("cuda", 1)]
    assert ddp._backend() == "nccl"
    with pytest.raises(ValueError, match=r"CUDA device\(s\) \[4\] but only 2 exist"):
        build_strategy(accelerator="cuda", devices=[4])

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert build_strategy().root_device == torch.device("mps", 0)
    with pytest.raises(ValueError, match="mps' supports one process"):
        build_strategy(accelerator="mps", strategy="ddp", devices=1)
