"""Read an offline W&B run back: the records of its ``run-<id>.wandb`` file, as wandb's protobufs.

wandb (0.19 and later) has no Python reader for its transaction log any more, so this reads the
format itself: a 7-byte header (``:W&B``, magic, version), then 32 KiB blocks of chunks, each
with a 7-byte header (crc32, length, type: 1 full, 2 first, 3 middle, 4 last). Each whole
record is a ``wandb_internal_pb2.Record``.
"""

from __future__ import annotations

import glob
import json
import os
import struct
import time
from collections.abc import Iterator
from typing import Any

_BLOCK = 32768
_HEADER = 7


def run_file(save_dir: str | os.PathLike[str]) -> str:
    """The one offline run's ``.wandb`` file under ``save_dir/wandb``."""
    found = glob.glob(os.path.join(os.fspath(save_dir), "wandb", "offline-run-*", "run-*.wandb"))
    assert len(found) == 1, found
    return found[0]


def _complete(path: str, timeout: float = 30.0) -> bytes:
    """The file's bytes once wandb's writer has finished it: ``wandb.finish()`` returns before
    the background process has written the last records, so wait for the ``exit`` record and
    for the file to stop growing."""
    deadline = time.monotonic() + timeout
    last = b""
    while True:
        with open(path, "rb") as f:
            data = f.read()
        kinds = [r.WhichOneof("record_type") for r in _parse(data)]
        if data == last and "exit" in kinds:
            return data
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never got complete: {kinds}")
        last = data
        time.sleep(0.2)


def records(path: str) -> Iterator[Any]:
    """Every record of a finished ``.wandb`` file, in order."""
    yield from _parse(_complete(path))


def _parse(data: bytes) -> Iterator[Any]:
    from wandb.proto import wandb_internal_pb2

    assert data[:4] == b":W&B", data[:_HEADER]
    pos, pending = _HEADER, b""
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        _, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        if left < _HEADER or (length == 0 and kind == 0):  # block padding
            pos += left
            continue
        pending += data[pos + _HEADER : pos + _HEADER + length]
        pos += _HEADER + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def of_kind(path: str, kind: str) -> list[Any]:
    """The records of one kind (``"history"``, ``"config"``, ``"metric"``, ``"artifact"``, ...)."""
    return [getattr(r, kind) for r in records(path) if r.WhichOneof("record_type") == kind]


def history(path: str) -> list[dict[str, Any]]:
    """Each logged row, values decoded, without wandb's own ``_runtime`` / ``_timestamp``."""
    rows = []
    for h in of_kind(path, "history"):
        row = {(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in h.item}
        rows.append({k: v for k, v in row.items() if k not in ("_runtime", "_timestamp")})
    return rows


def config(path: str) -> dict[str, Any]:
    """The run's config as its updates leave it (without wandb's ``_wandb`` key)."""
    merged: dict[str, Any] = {}
    for r in records(path):
        kind = r.WhichOneof("record_type")
        items = (
            r.run.config.update if kind == "run" else r.config.update if kind == "config" else []
        )
        merged.update({i.key: json.loads(i.value_json) for i in items})
    merged.pop("_wandb", None)
    return merged
