"""Remote paths through fsspec (``memory://`` here, a real S3 API in tests/integration), local
paths and ``file://`` URLs through os: the same answers from both."""

from __future__ import annotations

import sys
import uuid

import fsspec
import pytest
import torch
from fsspec.implementations.memory import MemoryFileSystem
from fsspec.registry import (
    _registry as _fsspec_registry,
)  # the cache of imported filesystem classes

from plcore.checkpoint import CheckpointError, TorchCheckpointIO, atomic_save, safe_load
from plcore.utilities import cloud_io


@pytest.fixture
def memory_root():
    """A fresh ``memory://`` folder, removed afterwards (the memory store is process-wide)."""
    root = f"memory://plcore-{uuid.uuid4().hex[:8]}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture(params=["memory", "file", "plain"])
def root(request, tmp_path, memory_root):
    return {"memory": memory_root, "file": f"file://{tmp_path}", "plain": str(tmp_path)}[
        request.param
    ]


def test_protocol_and_is_remote():
    assert cloud_io.protocol("s3://b/k") == "s3"
    assert cloud_io.protocol("MEMORY://x") == "memory"
    assert cloud_io.protocol("file:///tmp/x") is None
    assert cloud_io.protocol("relative/x") is None
    assert cloud_io.protocol("C:/windows/path") is None  # a drive letter is no URL
    assert cloud_io.is_remote("gs://b") and not cloud_io.is_remote("/tmp/x")


def test_check_path_strips_file_urls_and_keeps_remote_ones(tmp_path):
    assert cloud_io.check_path(f"file://{tmp_path}/a.ckpt") == f"{tmp_path}/a.ckpt"
    assert cloud_io.check_path(tmp_path / "a") == str(tmp_path / "a")
    assert cloud_io.check_path("memory://bucket/x") == "memory://bucket/x"


@pytest.mark.parametrize(
    ("url", "package", "extra"),
    [
        ("s3://b/x", "s3fs", "plkit[s3]"),
        ("gs://b/x", "gcsfs", "plkit[gcs]"),
        ("abfs://c/x", "adlfs", "plkit[azure]"),
    ],
)
def test_a_missing_filesystem_package_is_named(url, package, extra, monkeypatch):
    # Whether or not the package is installed here, make its import fail.
    monkeypatch.setitem(sys.modules, package, None)
    protocol = url.split(":")[0]
    monkeypatch.delitem(_fsspec_registry, protocol, raising=False)  # its cached class
    with pytest.raises(ImportError) as err:
        cloud_io.check_path(url, "ModelCheckpoint(dirpath=...)")
    message = str(err.value)
    assert message.startswith(f"ModelCheckpoint(dirpath=...): {url!r} is on {protocol}://")
    assert f"pip install {package}" in message and extra in message
    assert "Nothing was read or written" in message


def test_an_unknown_protocol_is_a_value_error():
    with pytest.raises(ValueError, match="no-such-proto://, for which fsspec knows no filesystem"):
        cloud_io.check_path("no-such-proto://x/y", "ckpt_path")


def test_file_operations_agree(root):
    folder = f"{root}/a/b"
    assert not cloud_io.exists(folder)
    cloud_io.makedirs(folder)
    assert cloud_io.isdir(folder)
    cloud_io.write_bytes(f"{folder}/x.ckpt", b"one")
    cloud_io.write_text(f"{folder}/y.txt", "two")
    cloud_io.append_text(f"{folder}/y.txt", "+three")
    assert cloud_io.read_bytes(f"{folder}/x.ckpt") == b"one"
    assert cloud_io.read_text(f"{folder}/y.txt") == "two+three"
    assert cloud_io.listdir(folder) == ["x.ckpt", "y.txt"]
    assert cloud_io.isfile(f"{folder}/x.ckpt") and not cloud_io.isdir(f"{folder}/x.ckpt")
    assert cloud_io.modified(f"{folder}/x.ckpt") > 0
    found = cloud_io.glob(f"{root}/**/*.ckpt")
    assert found == [cloud_io.check_path(f"{folder}/x.ckpt")]  # spelled as the pattern is
    cloud_io.remove(f"{folder}/x.ckpt")
    cloud_io.remove(f"{folder}/missing")  # a missing file is fine
    assert cloud_io.listdir(folder) == ["y.txt"]
    with pytest.raises(FileNotFoundError):
        cloud_io.listdir(f"{root}/nowhere")


def test_the_local_write_leaves_no_temporary_file(tmp_path):
    cloud_io.write_bytes(str(tmp_path / "x"), b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["x"]


def test_checkpoint_save_and_load_on_memory(memory_root):
    path = f"{memory_root}/ckpts/epoch=0.ckpt"
    atomic_save({"state_dict": {"w": torch.arange(3.0)}}, path)
    assert fsspec.filesystem("memory").isfile(path)
    loaded = safe_load(path)
    assert torch.equal(loaded["state_dict"]["w"], torch.arange(3.0))
    io_ = TorchCheckpointIO()
    io_.remove_checkpoint(path)
    assert not cloud_io.exists(path)


def test_a_failed_serialisation_leaves_the_remote_object_intact(memory_root):
    path = f"{memory_root}/last.ckpt"
    atomic_save({"a": 1}, path)
    with pytest.raises(Exception):
        atomic_save({"a": lambda: 0}, path)  # torch.save cannot pickle a lambda
    assert safe_load(path) == {"a": 1}


def test_a_corrupt_remote_checkpoint_is_named(memory_root):
    path = f"{memory_root}/bad.ckpt"
    buffer = __import__("io").BytesIO()
    torch.save({"a": torch.ones(100)}, buffer)
    cloud_io.write_bytes(path, buffer.getvalue()[:-200])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        safe_load(path)
    with pytest.raises(FileNotFoundError):
        safe_load(f"{memory_root}/missing.ckpt")


class _MovingMemoryFS(MemoryFileSystem):
    """A memory filesystem that, like most non-object stores, gets no atomic one-shot upload:
    writes go to a temporary file moved over the target. ``fail_move`` breaks the move."""

    protocol = ("plcoretest",)
    fail_move = False

    @classmethod
    def _strip_protocol(cls, path):
        return super()._strip_protocol(path.replace("plcoretest://", "memory://", 1))

    def mv(self, path1, path2, **kwargs):
        if self.fail_move:
            raise OSError("the move failed")
        return super().mv(path1, path2, **kwargs)


def test_other_filesystems_write_a_temporary_file_then_move_it(monkeypatch):
    fsspec.register_implementation("plcoretest", _MovingMemoryFS, clobber=True)
    root = f"plcoretest://t-{uuid.uuid4().hex[:8]}"
    fs = fsspec.filesystem("plcoretest")
    try:
        cloud_io.write_bytes(f"{root}/x.ckpt", b"old")
        assert cloud_io.listdir(root) == ["x.ckpt"]
        monkeypatch.setattr(_MovingMemoryFS, "fail_move", True)
        with pytest.raises(OSError, match="the move failed"):
            cloud_io.write_bytes(f"{root}/x.ckpt", b"new")
        assert cloud_io.read_bytes(f"{root}/x.ckpt") == b"old"
        assert cloud_io.listdir(root) == ["x.ckpt"]  # the temporary file is gone
    finally:
        fs.rm(fsspec.core.url_to_fs(root)[1], recursive=True)
