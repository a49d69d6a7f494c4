"""Shared fixtures: every test gets its environment variables, default dtype and process group
restored, so tests can set MASTER_PORT, RANK, SLURM_* … freely."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
import torch
import torch.distributed as dist

# Variables that would make the code under test believe it runs under torchrun, SLURM or as a
# child of plkit's launcher; a developer's shell (or CI) may have some set.
_JOB_VARIABLES = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "GROUP_RANK",
    "NODE_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_RUN_ID",
    "PLACCEL_PARENT_PID",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start each test without job variables; restore os.environ exactly afterwards."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name in _JOB_VARIABLES or name.startswith("SLURM_"):
            monkeypatch.delenv(name)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def restore_global_state() -> Iterator[None]:
    """Destroy a process group a test left behind and restore torch's default dtype."""
    dtype = torch.get_default_dtype()
    excepthook = sys.excepthook
    yield
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    torch.set_default_dtype(dtype)
    sys.excepthook = excepthook


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``cuda`` when there is no CUDA device."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
