"""Sharded checkpoint folders (torch.distributed.checkpoint + meta.pt) read into one process,
safely: full tensors, numbered optimizer states, and metadata that would run code refused."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from torch import nn

from plcore.checkpoint import (
    CheckpointError,
    UnsafeCheckpointError,
    is_sharded_checkpoint,
    load_sharded_checkpoint,
    safe_load,
)


def _write_folder(folder) -> tuple[nn.Module, torch.optim.Optimizer]:
    import torch.distributed.checkpoint as dcp

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.randn(2, 3)).sum().backward()
    opt.step()
    names = [name for name, _ in model.named_parameters()]
    plain = opt.state_dict()
    named = {  # the form get_optimizer_state_dict gives: parameters by name
        "state": {names[i]: state for i, state in plain["state"].items()},
        "param_groups": [
            {**g, "params": [names[i] for i in g["params"]]} for g in plain["param_groups"]
        ],
    }
    dcp.save(
        {"model": model.state_dict(), "optimizer_0": named}, checkpoint_id=folder, no_dist=True
    )
    torch.save({"epoch": 3, "global_step": 7}, os.path.join(folder, "meta.pt"))
    return model, opt


def test_folder_loads_as_the_file_would(tmp_path):
    folder = tmp_path / "last.ckpt"
    model, opt = _write_folder(folder)
    assert is_sharded_checkpoint(folder) and not is_sharded_checkpoint(tmp_path)
    checkpoint = safe_load(folder)
    assert checkpoint["epoch"] == 3 and checkpoint["global_step"] == 7
    for key, value in model.state_dict().items():
        torch.testing.assert_close(checkpoint["state_dict"][key], value, rtol=0, atol=0)
    expected = opt.state_dict()
    loaded = checkpoint["optimizer_states"][0]
    assert loaded["param_groups"] == expected["param_groups"]
    fresh = torch.optim.Adam(model.parameters(), lr=0.1)
    fresh.load_state_dict(loaded)  # the standard form: an optimizer takes it as it is
    for index, state in expected["state"].items():
        for name, value in state.items():
            torch.testing.assert_close(loaded["state"][index][name], value, rtol=0, atol=0)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_metadata_that_would_run_code_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "bad.ckpt"
    _write_folder(folder)
    (folder / ".metadata").write_bytes(pickle.dumps(_RunsCode()))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnsafeCheckpointError, match="os.system|posix.system"):
        load_sharded_checkpoint(folder)
    assert not (tmp_path / "pwned").exists()


def test_truncated_or_missing_metadata_is_named(tmp_path):
    folder = tmp_path / "half.ckpt"
    _write_folder(folder)
    data = (folder / ".metadata").read_bytes()
    (folder / ".metadata").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_sharded_checkpoint(folder)
    os.remove(folder / ".metadata")
    with pytest.raises(CheckpointError, match="not written completely"):
        load_sharded_checkpoint(folder)
