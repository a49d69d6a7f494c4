import pytest

from placcel.environments import TorchElasticEnvironment

TORCHRUN = {
    "RANK": "3",
    "WORLD_SIZE": "4",
    "LOCAL_RANK": "1",
    "LOCAL_WORLD_SIZE": "2",
    "GROUP_RANK": "1",
    "MASTER_ADDR": "node0",
    "MASTER_PORT": "29400",
}


@pytest.fixture
def torchrun(monkeypatch):
    for name, value in TORCHRUN.items():
        monkeypatch.setenv(name, value)


def test_detect(monkeypatch):
    assert not TorchElasticEnvironment.detect()
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "abc")
    assert TorchElasticEnvironment.detect()


@pytest.mark.parametrize(
    "missing", ["RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"]
)
def test_detect_needs_all_five_variables(torchrun, monkeypatch, missing):
    assert TorchElasticEnvironment.detect()
    monkeypatch.delenv(missing)
    assert not TorchElasticEnvironment.detect()


def test_reads_ranks_and_ignores_setters(torchrun):
    env = TorchElasticEnvironment()
    env.set_global_rank(0)
    env.set_world_size(1)
    assert env.creates_processes_externally
    assert (env.global_rank(), env.world_size(), env.local_rank(), env.node_rank()) == (3, 4, 1, 1)
    assert (env.main_address, env.main_port, env.local_world_size()) == ("node0", 29400, 2)


def test_validate_settings(torchrun):
    env = TorchElasticEnvironment()
    env.validate_settings(2, 2)
    with pytest.raises(
        ValueError,
        match=r"torchrun set WORLD_SIZE=4 .* devices=2 x num_nodes=1 = 2 processes; set devices",
    ):
        env.validate_settings(2, 1)
