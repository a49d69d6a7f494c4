"""FSDP (FSDP2's ``fully_shard``) end to end through the Trainer on 2 CPU gloo ranks.

Four short runs of ``scripts/fsdp_fit.py`` (each under a hard timeout, in its own session that
is killed afterwards) show: FSDP trains exactly as one process on the global batch (and so as
DDP); a sharded checkpoint folder written by 2 ranks loads into one process
(``load_from_checkpoint``) with the same weights and optimizer state as the full file; a fit
resumed from it is bit-exact (also when written in the background by ``AsyncCheckpointIO``,
into the same folders); layers made in ``configure_model`` are sharded and trained; a model
built on the meta device under ``init_module(empty_init=True)`` (materialised shard by shard)
resumes from a full checkpoint bit-exactly too.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from plcore.checkpoint import is_sharded_checkpoint, safe_load

sys.path.insert(0, str(Path(__file__).parent))
from test_ddp_trainer import clean_env, free_port, run_in_own_session  # noqa: E402

sys.path.pop(0)

pytestmark = pytest.mark.distributed

SCRIPT = Path(__file__).parent / "scripts" / "fsdp_fit.py"
TIMEOUT = 180


def _script_module():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import fsdp_fit
    finally:
        sys.path.pop(0)
    return fsdp_fit


# A rank of a finished FSDP run on gloo has been seen to abort while the process exits (after
# fit and the results were written): "terminate called without an active exception", from a
# C++ thread torch.distributed leaves behind. Rarely (2 runs in ~40); not yet traced. Such a run
# is repeated once, from scratch, and only that: any other failure, or the same one twice, fails.
_EXIT_ABORT = "terminate called without an active exception"


def run_script(out: Path, **env: str) -> dict:
    for attempt in (1, 2):
        out.mkdir(parents=True, exist_ok=True)
        code, stderr = run_in_own_session(
            [sys.executable, str(SCRIPT)],
            clean_env(PLKIT_TEST_OUT=str(out), MASTER_PORT=str(free_port()), **env),
            TIMEOUT,
        )
        exit_abort = code != 0 and _EXIT_ABORT in stderr and "`Trainer.fit` stopped" in stderr
        if not exit_abort or attempt == 2:
            break
        shutil.rmtree(out)  # the repeat starts from nothing
    assert code == 0, stderr[-3000:]
    return torch.load(out / "result.pt", weights_only=True)


def reference_weights() -> dict[str, torch.Tensor]:
    """One process on the global batch of 16, in the DistributedSampler's order, Adam."""
    script = _script_module()
    model = script.Model()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = script.dataset().tensors
    for epoch in range(2):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch)).tolist()
        ranks = [order[0::2], order[1::2]]
        for i in range(4):
            idx = ranks[0][8 * i : 8 * i + 8] + ranks[1][8 * i : 8 * i + 8]
            opt.zero_grad()
            nn.functional.mse_loss(model.net(x[idx]), y[idx]).backward()
            opt.step()
    return model.state_dict()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fsdp")
    full = run_script(root / "full", PLKIT_TEST_STATE="full")
    # layers made in configure_model: they exist before sharding and the optimizer sees them
    sharded = run_script(
        root / "sharded", PLKIT_TEST_STATE="sharded", PLKIT_TEST_EPOCHS="1", PLKIT_TEST_LATE="1"
    )
    return root, full, sharded


def test_fsdp_trains_as_one_process_on_the_global_batch(runs):
    root, full, _ = runs
    assert full["global_step"] == 8
    for key, value in reference_weights().items():
        torch.testing.assert_close(full["weights"][key], value, rtol=0, atol=1e-5)
    # state_dict_type="full": one ordinary file, the layout a single process writes
    checkpoint = safe_load(root / "full" / "ckpts" / "epoch=0-step=4.ckpt")
    assert set(checkpoint["state_dict"]) == {
        "net.0.weight",
        "net.0.bias",
        "net.2.weight",
        "net.2.bias",
    }
    assert checkpoint["state_dict"]["net.0.weight"].shape == (8, 4)  # gathered, not a shard
    assert list(checkpoint["optimizer_states"][0]["state"]) == [0, 1, 2, 3]


def test_sharded_folder_layout_and_one_process_load(runs):
    root, _, _ = runs
    folder = root / "sharded" / "ckpts" / "epoch=0-step=4.ckpt"
    assert is_sharded_checkpoint(folder)
    assert sorted(os.listdir(folder)) == [".metadata", "__0_0.distcp", "__1_0.distcp", "meta.pt"]
    assert not [p for p in os.listdir(folder.parent) if p.startswith(".")]  # no temporary left
    meta = torch.load(folder / "meta.pt", weights_only=True)
    assert "state_dict" not in meta and "optimizer_states" not in meta and meta["global_step"] == 4
    script = _script_module()
    model = script.Model.load_from_checkpoint(folder)  # no process group here
    full = safe_load(root / "full" / "ckpts" / "epoch=0-step=4.ckpt")
    for key, value in full["state_dict"].items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)
    loaded = safe_load(folder)["optimizer_states"][0]
    expected = full["optimizer_states"][0]
    assert loaded["param_groups"] == expected["param_groups"]
    for index, state in expected["state"].items():
        for name, tensor in state.items():
            torch.testing.assert_close(loaded["state"][index][name], tensor, rtol=0, atol=0)


def test_resume_from_sharded_folder_is_bit_exact(runs, tmp_path):
    root, full, _ = runs
    folder = root / "sharded" / "ckpts" / "epoch=0-step=4.ckpt"
    resumed = run_script(tmp_path, PLKIT_TEST_STATE="sharded", PLKIT_TEST_RESUME=str(folder))
    assert resumed["global_step"] == 8
    for key, value in full["weights"].items():
        torch.testing.assert_close(resumed["weights"][key], value, rtol=0, atol=0)
    assert is_sharded_checkpoint(tmp_path / "ckpts" / "last.ckpt")


def _same(a, b, where: str = "checkpoint") -> None:
    """``a`` equals ``b`` exactly: same keys, types, tensor dtypes and values."""
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{index}]")
    else:
        assert a == b, where


def _relative(obj, root: Path):
    """``obj`` with the run's folder cut from its strings (ModelCheckpoint keeps paths) and
    the unseeded generators' states (numpy's, Python's: they differ between processes) left out."""
    if isinstance(obj, str):
        return obj.replace(str(root), "<root>")
    if isinstance(obj, dict):
        return type(obj)(
            (_relative(k, root), _relative(v, root))
            for k, v in obj.items()
            if k not in ("numpy", "python")
        )
    if isinstance(obj, list):
        return [_relative(v, root) for v in obj]
    return obj


def test_async_sharded_saves_write_the_same_folders_and_resume_bit_exact(runs, tmp_path):
    """With ``AsyncCheckpointIO`` each rank's shards are written in the background; the folders
    are the synchronous run's, loaded in one process and compared exactly, and a fit resumed
    from one (asynchronous again) is bit-exact."""
    root, full, _ = runs
    out = tmp_path / "async"
    env = {"PLKIT_TEST_STATE": "sharded", "PLKIT_TEST_ASYNC": "1"}
    run_script(out, PLKIT_TEST_EPOCHS="1", PLKIT_TEST_LATE="1", **env)
    synced, written = root / "sharded" / "ckpts", out / "ckpts"
    names = ["epoch=0-step=4.ckpt", "last.ckpt"]
    assert sorted(os.listdir(written)) == sorted(os.listdir(synced)) == names  # no temporary
    for name in names:
        layout = sorted(os.listdir(written / name))
        assert layout == [".metadata", "__0_0.distcp", "__1_0.distcp", "meta.pt"]
        _same(
            _relative(safe_load(written / name), out),
            _relative(safe_load(synced / name), root / "sharded"),
            name,
        )
    resumed = run_script(tmp_path / "resumed", PLKIT_TEST_RESUME=str(written / names[0]), **env)
    assert resumed["global_step"] == 8
    for key, value in full["weights"].items():
        torch.testing.assert_close(resumed["weights"][key], value, rtol=0, atol=0)
    assert is_sharded_checkpoint(tmp_path / "resumed" / "ckpts" / "last.ckpt")


def test_empty_init_on_meta_device_resumes_from_full_file(runs, tmp_path):
    root, full, _ = runs
    resumed = run_script(
        tmp_path,
        PLKIT_TEST_STATE="full",
        PLKIT_TEST_EMPTY_INIT="1",
        PLKIT_TEST_RESUME=str(root / "full" / "ckpts" / "epoch=0-step=4.ckpt"),
    )
    assert resumed["global_step"] == 8
    for key, value in full["weights"].items():
        torch.testing.assert_close(resumed["weights"][key], value, rtol=0, atol=0)


def test_clipping_accumulation_and_validate_after_fit(tmp_path):
    """Clipping on the global gradient norm, accumulation without a sync per micro-batch,
    and a second entry point (validate) on the sharded model."""
    result = run_script(tmp_path, PLKIT_TEST_STATE="full", PLKIT_TEST_EXTRA="1")
    script = _script_module()
    model = script.Model()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = script.dataset().tensors
    for epoch in range(2):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch)).tolist()
        ranks = [order[0::2], order[1::2]]
        for i in range(4):
            if i % 2 == 0:
                opt.zero_grad()
            idx = ranks[0][8 * i : 8 * i + 8] + ranks[1][8 * i : 8 * i + 8]
            (nn.functional.mse_loss(model.net(x[idx]), y[idx]) / 2).backward()
            if i % 2 == 1:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                opt.step()
    assert result["global_step"] == 4
    for key, value in model.state_dict().items():
        torch.testing.assert_close(result["weights"][key], value, rtol=0, atol=1e-5)
    with torch.no_grad():
        full_loss = nn.functional.mse_loss(model.net(x), y).item()
    assert result["validated"][0]["val_loss"] == pytest.approx(full_loss, abs=1e-5)
