from placcel.environments import (
    LightningEnvironment,
    SLURMEnvironment,
    TorchElasticEnvironment,
    detect_cluster_environment,
)


def test_local_by_default():
    assert type(detect_cluster_environment()) is LightningEnvironment


def test_slurm_then_torchrun_first(monkeypatch):
    monkeypatch.setenv("SLURM_NTASKS", "2")
    monkeypatch.setenv("SLURM_JOB_NAME", "train")
    assert type(detect_cluster_environment()) is SLURMEnvironment
    # torchrun inside a SLURM allocation: torchrun's variables describe the processes.
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "x")
    assert type(detect_cluster_environment()) is TorchElasticEnvironment


def test_our_children_stay_local(monkeypatch):
    # The launcher sets these but not RANK, so its children are not mistaken for torchrun's.
    for name, value in {
        "LOCAL_RANK": "1",
        "WORLD_SIZE": "2",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "1",
    }.items():
        monkeypatch.setenv(name, value)
    env = detect_cluster_environment()
    assert type(env) is LightningEnvironment
    assert env.creates_processes_externally
