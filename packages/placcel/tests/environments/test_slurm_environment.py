import pytest

from placcel.environments import SLURMEnvironment, expand_nodelist

SRUN = {
    "SLURM_NTASKS": "4",
    "SLURM_PROCID": "3",
    "SLURM_LOCALID": "1",
    "SLURM_NODEID": "1",
    "SLURM_NNODES": "2",
    "SLURM_NTASKS_PER_NODE": "2",
    "SLURM_JOB_NAME": "train",
    "SLURM_JOB_ID": "1234567",
    "SLURM_NODELIST": "gpu[07-08]",
}


@pytest.fixture
def srun(monkeypatch):
    for name, value in SRUN.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("nodelist", "hosts"),
    [
        ("node1", ["node1"]),
        ("node[1-3,5]", ["node1", "node2", "node3", "node5"]),
        ("gpu[01-03]", ["gpu01", "gpu02", "gpu03"]),
        ("a[1-2],b3", ["a1", "a2", "b3"]),
        ("host-1,host-2", ["host-1", "host-2"]),
        ("rack[1-2]-n[3-4]", ["rack1-n3", "rack1-n4", "rack2-n3", "rack2-n4"]),
        ("n[9-10]", ["n9", "n10"]),
    ],
)
def test_expand_nodelist(nodelist, hosts):
    assert expand_nodelist(nodelist) == hosts


def test_expand_empty_nodelist_is_an_error():
    with pytest.raises(ValueError, match="names no host"):
        expand_nodelist(" , ")


def test_ranks_address_and_port(srun):
    env = SLURMEnvironment()
    assert SLURMEnvironment.detect()
    assert env.creates_processes_externally
    assert (env.global_rank(), env.world_size(), env.local_rank(), env.node_rank()) == (3, 4, 1, 1)
    assert env.main_address == "gpu07"
    assert env.main_port == 15000 + 4567
    assert env.local_world_size() == 2


def test_main_address_from_compressed_list_and_port_override(srun, monkeypatch):
    monkeypatch.setenv("SLURM_NODELIST", "node[3-4,9],login1")
    monkeypatch.setenv("MASTER_PORT", "30000")
    env = SLURMEnvironment()
    assert env.main_address == "node3"
    assert env.main_port == 30000


def test_local_world_size_without_tasks_per_node(srun, monkeypatch):
    monkeypatch.delenv("SLURM_NTASKS_PER_NODE")
    assert SLURMEnvironment().local_world_size() == 2
    monkeypatch.setenv("SLURM_NTASKS_PER_NODE", "2(x2)")
    assert SLURMEnvironment().local_world_size() == 2


@pytest.mark.parametrize("name", ["bash", "interactive"])
def test_interactive_jobs_are_not_detected(srun, monkeypatch, name):
    monkeypatch.setenv("SLURM_JOB_NAME", name)
    assert not SLURMEnvironment.detect()


def test_validate_settings(srun):
    env = SLURMEnvironment()
    env.validate_settings(2, 2)
    with pytest.raises(
        ValueError, match=r"SLURM_NTASKS=4 .* devices=4 x num_nodes=2 = 8 processes"
    ):
        env.validate_settings(4, 2)
    with pytest.raises(ValueError, match=r"SLURM_NNODES=2 but the flag num_nodes=4"):
        env.validate_settings(1, 4)
