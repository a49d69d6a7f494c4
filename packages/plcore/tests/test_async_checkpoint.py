"""AsyncCheckpointIO: the same file as a synchronous save, written in a thread, in order, with
background errors raised at the next call or at teardown, and never a half-written file."""

from __future__ import annotations

import os
import threading
import time

import pytest
import torch

from plcore.async_checkpoint import AsyncCheckpointIO
from plcore.checkpoint import CheckpointIO, TorchCheckpointIO, safe_load


def _checkpoint() -> dict:
    return {
        "state_dict": {"w": torch.arange(6.0).reshape(2, 3)},
        "epoch": 1,
        "loops": {"n": [1, 2]},
    }


def test_writes_what_a_synchronous_save_writes(tmp_path):
    io = AsyncCheckpointIO()
    checkpoint = _checkpoint()
    io.save_checkpoint(checkpoint, tmp_path / "async.ckpt")
    checkpoint["state_dict"]["w"].add_(100)  # the save took a point-in-time copy
    io.teardown()
    TorchCheckpointIO().save_checkpoint(_checkpoint(), tmp_path / "sync.ckpt")
    a, b = safe_load(tmp_path / "async.ckpt"), safe_load(tmp_path / "sync.ckpt")
    assert a.keys() == b.keys() and a["loops"] == b["loops"]
    torch.testing.assert_close(a["state_dict"]["w"], b["state_dict"]["w"], rtol=0, atol=0)
    # what a strategy that writes itself (sharded FSDP) reads to go asynchronous too
    assert io.is_async is True and TorchCheckpointIO().is_async is False
    assert isinstance(io.checkpoint_io, TorchCheckpointIO)


class _SlowIO(TorchCheckpointIO):
    def __init__(self, delay: float, fail: bool = False) -> None:
        self.delay, self.fail, self.started = delay, fail, threading.Event()

    def save_checkpoint(self, checkpoint, path, storage_options=None):
        self.started.set()
        time.sleep(self.delay)
        if self.fail:
            raise OSError(28, "No space left on device")
        super().save_checkpoint(checkpoint, path, storage_options)


def test_the_caller_does_not_wait_for_the_write_and_order_is_kept(tmp_path):
    io = AsyncCheckpointIO(_SlowIO(0.5))
    start = time.perf_counter()
    io.save_checkpoint(_checkpoint(), tmp_path / "a.ckpt")
    assert time.perf_counter() - start < 0.4  # returned before the write finished
    assert not (tmp_path / "a.ckpt").exists()
    io.remove_checkpoint(tmp_path / "a.ckpt")  # queued behind the save, not before it
    io.save_checkpoint(_checkpoint(), tmp_path / "b.ckpt")
    loaded = io.load_checkpoint(tmp_path / "b.ckpt")  # waits for the writes
    assert loaded["epoch"] == 1 and not (tmp_path / "a.ckpt").exists()
    io.teardown()


def test_background_error_raises_at_the_next_save_and_no_file_is_left(tmp_path):
    slow = _SlowIO(0.05, fail=True)
    io = AsyncCheckpointIO(slow)
    io.save_checkpoint(_checkpoint(), tmp_path / "a.ckpt")
    time.sleep(0.3)
    with pytest.raises(RuntimeError, match="in the background failed: .*No space left"):
        io.save_checkpoint(_checkpoint(), tmp_path / "b.ckpt")
    slow.fail = False
    io.teardown()
    assert os.listdir(tmp_path) == []  # neither a.ckpt nor a temporary file


def test_background_error_raises_at_teardown(tmp_path):
    io = AsyncCheckpointIO(_SlowIO(0.05, fail=True))
    io.save_checkpoint(_checkpoint(), tmp_path / "a.ckpt")
    with pytest.raises(RuntimeError, match="No space left"):
        io.teardown()


def test_a_crash_mid_write_leaves_no_file_under_the_final_name(tmp_path, monkeypatch):
    def interrupted(obj, file, *args, **kwargs):
        file.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(torch, "save", interrupted)
    io = AsyncCheckpointIO()
    io.save_checkpoint(_checkpoint(), tmp_path / "last.ckpt")
    with pytest.raises(RuntimeError, match="in the background failed"):
        io.teardown()
    assert not (tmp_path / "last.ckpt").exists()
    assert [p for p in os.listdir(tmp_path) if not p.startswith(".")] == []


def test_is_a_checkpoint_io():
    assert isinstance(AsyncCheckpointIO(), CheckpointIO)
    assert isinstance(AsyncCheckpointIO().checkpoint_io, TorchCheckpointIO)
