"""Which run a preemption checkpoint belongs to, and retiring a run's old ones."""

from __future__ import annotations

import sys

import pytest
import torch

from plkit._preemption import RUN_KEY, hpc_run_of, retire_hpc_checkpoints, run_identity

_IDS = ("PLKIT_RUN_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_JOB_ID")


@pytest.fixture
def clean_env(monkeypatch):
    for name in (*_IDS, "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_identity_prefers_an_explicit_id_then_the_scheduler(clean_env):
    clean_env.setattr(sys, "argv", ["train.py", "--lr", "0.1"])
    command = run_identity()
    assert command.startswith("command:")
    clean_env.setattr(sys, "argv", ["train.py", "--lr", "0.2"])
    assert run_identity() != command  # other arguments: another run
    clean_env.setenv("TORCHELASTIC_RUN_ID", "abc")
    assert run_identity() == "torchelastic:abc"
    clean_env.setenv("SLURM_JOB_ID", "77")
    assert run_identity() == "slurm:77"
    clean_env.setenv("SLURM_ARRAY_JOB_ID", "70")
    clean_env.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert run_identity() == "slurm:70_3"
    clean_env.setenv("PLKIT_RUN_ID", "mine")
    assert run_identity() == "run:mine"


def _hpc(path, owner):
    checkpoint = {"state_dict": {"w": torch.zeros(2)}}
    if owner is not None:
        checkpoint[RUN_KEY] = owner
    torch.save(checkpoint, path)
    return str(path)


def test_retire_removes_only_the_runs_own_older_files(tmp_path):
    mine_1 = _hpc(tmp_path / "hpc_ckpt_1.ckpt", "run:a")
    theirs = _hpc(tmp_path / "hpc_ckpt_2.ckpt", "run:b")
    unknown = _hpc(tmp_path / "hpc_ckpt_3.ckpt", None)
    mine_4 = _hpc(tmp_path / "hpc_ckpt_4.ckpt", "run:a")
    assert hpc_run_of(mine_1) == "run:a" and hpc_run_of(unknown) is None
    assert retire_hpc_checkpoints(str(tmp_path), "run:a", keep=mine_4) == [mine_1]
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == ["hpc_ckpt_2.ckpt", "hpc_ckpt_3.ckpt", "hpc_ckpt_4.ckpt"]
    assert theirs and unknown
