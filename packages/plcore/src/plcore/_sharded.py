"""Sharded checkpoints (a folder written by ``torch.distributed.checkpoint``) read safely into
one process.

The folder layout is Lightning's ``FSDPStrategy(state_dict_type="sharded")``: DCP's ``.metadata``
and one ``__<rank>_0.distcp`` file per rank hold ``{"model": ..., "optimizer_0": ...}``, and
``meta.pt`` holds everything else of the checkpoint dict (``epoch``, ``loops``, ``callbacks``,
hyper-parameters)::

    from plcore.checkpoint import is_sharded_checkpoint, load_sharded_checkpoint

    if is_sharded_checkpoint("ckpts/last.ckpt"):
        checkpoint = load_sharded_checkpoint("ckpts/last.ckpt")   # no process group needed
        model.load_state_dict(checkpoint["state_dict"])

Reading never runs code from the files: DCP's ``.metadata`` is a pickle, read here with an
unpickler that only builds DCP's own metadata classes; its non-tensor entries are read with
``torch.load(weights_only=True)`` (DCP's own reader would use full unpickling for both).
"""

from __future__ import annotations

import io
import itertools
import os
import pickle
import warnings
from collections import OrderedDict
from typing import Any

import torch

__all__ = [
    "SHARDED_METADATA_FILENAME",
    "is_sharded_checkpoint",
    "load_sharded_checkpoint",
    "safe_storage_reader",
]

#: The file of a sharded checkpoint folder holding everything but weights and optimizer states.
SHARDED_METADATA_FILENAME = "meta.pt"
_DCP_METADATA = ".metadata"
_SAFE_TORCH_TYPES = (torch.dtype, torch.layout, torch.memory_format)
_ALLOWED = {
    ("collections", "OrderedDict"),
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
    ("pathlib", "PurePosixPath"),
    ("pathlib", "PureWindowsPath"),
    ("torch.distributed.checkpoint.filesystem", "_StorageInfo"),
    ("torch.distributed.checkpoint.metadata", "_MEM_FORMAT_ENCODING"),
    ("torch.serialization", "_get_layout"),  # a layout by its name
}


def is_sharded_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a sharded checkpoint folder (it holds ``meta.pt``)."""
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, SHARDED_METADATA_FILENAME))


class _Refused(pickle.UnpicklingError):
    """A class the metadata unpickler will not build."""


class _MetadataUnpickler(pickle.Unpickler):
    """Builds DCP's metadata dataclasses, torch sizes and dtypes; refuses every other class."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (
            module == "torch.distributed.checkpoint.metadata" and name[:1].isupper()
        ):  # DCP's metadata dataclasses, the file names, paths
            return super().find_class(module, name)
        if module == "torch":
            found = getattr(torch, name, None)
            if found is torch.Size or isinstance(found, _SAFE_TORCH_TYPES):
                return found
        raise _Refused(f"GLOBAL {module}.{name} is not allowed in .metadata")


def safe_storage_reader(path: str | os.PathLike) -> Any:
    """A ``torch.distributed.checkpoint.FileSystemReader`` for ``path`` whose ``.metadata`` is
    unpickled without running code (:class:`~plcore.checkpoint.UnsafeCheckpointError` else)."""
    from torch.distributed.checkpoint import FileSystemReader

    class SafeFileSystemReader(FileSystemReader):
        def read_metadata(self, *args: Any, **kwargs: Any) -> Any:
            return _read_metadata(os.fspath(path))

    return SafeFileSystemReader(os.fspath(path))


def _read_metadata(folder: str) -> Any:
    from torch.distributed.checkpoint.metadata import StorageMeta

    from plcore.checkpoint import CheckpointError, UnsafeCheckpointError

    file = os.path.join(folder, _DCP_METADATA)
    if not os.path.isfile(file):
        raise CheckpointError(
            f"{folder!r} has no {_DCP_METADATA}: the sharded checkpoint was not written completely;"
            " use an earlier checkpoint."
        )
    with open(file, "rb") as stream:
        try:
            metadata = _MetadataUnpickler(stream).load()
        except _Refused as err:
            raise UnsafeCheckpointError(
                f"{file!r} needs classes that are not DCP metadata ({err}), so it was not loaded."
            ) from err
        except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, TypeError) as err:
            raise CheckpointError(f"{file!r} is truncated or corrupt ({err}).") from err
    if getattr(metadata, "storage_meta", None) is None:
        metadata.storage_meta = StorageMeta()
    return metadata


def _safe_planner() -> Any:
    from torch.distributed.checkpoint import DefaultLoadPlanner

    class SafeLoadPlanner(DefaultLoadPlanner):
        """DefaultLoadPlanner reading non-tensor entries with ``weights_only=True``."""

        def load_bytes(self, read_item: Any, value: io.BytesIO) -> None:
            self.state_dict[read_item.dest_index.fqn] = torch.load(value, weights_only=True)

    return SafeLoadPlanner(flatten_state_dict=False, flatten_sharded_tensors=False)


def load_sharded_checkpoint(path: str | os.PathLike, map_location: Any = None) -> dict[str, Any]:
    """Read a sharded checkpoint folder into one checkpoint dict of full tensors, as a
    ``.ckpt`` file of the same run would hold: ``state_dict`` and ``optimizer_states`` (in the
    standard ``optimizer.state_dict()`` form, parameters numbered) next to ``meta.pt``'s keys.
    Works with or without a process group (each process reads everything).

    Args:
        path: the checkpoint folder.
        map_location: where ``meta.pt``'s tensors go (the weights are loaded on the CPU).
    """
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata

    from plcore.checkpoint import safe_load

    folder = os.fspath(path)
    checkpoint = safe_load(os.path.join(folder, SHARDED_METADATA_FILENAME), map_location)
    metadata = _read_metadata(folder)
    flat: dict[str, Any] = {}
    for key, entry in metadata.state_dict_metadata.items():
        if isinstance(entry, TensorStorageMetadata):
            flat[key] = torch.empty(entry.size, dtype=entry.properties.dtype)
        else:
            flat[key] = None
    with warnings.catch_warnings():  # DCP says it assumes one process: that is the intent
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        reader, planner = safe_storage_reader(folder), _safe_planner()
        dcp.load(flat, storage_reader=reader, planner=planner, no_dist=True)
    nested = _unflatten(flat, metadata.planner_data or {key: (key,) for key in flat})
    if "model" in nested:
        checkpoint["state_dict"] = nested["model"]
    optimizers = sorted(
        (int(key.split("_", 1)[1]), key) for key in nested if key.startswith("optimizer_")
    )
    if optimizers:
        checkpoint["optimizer_states"] = [_numbered(nested[key]) for _, key in optimizers]
    return checkpoint


def _unflatten(flat: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """DCP's flattened keys back into nested dicts and lists (its ``planner_data`` paths)."""
    root: dict[str, Any] = {}
    for key, value in flat.items():
        path = tuple(paths.get(key, (key,)))
        node: Any = root
        for part, following in itertools.pairwise(path):
            empty: Any = [] if isinstance(following, int) else {}
            if isinstance(node, list):
                while len(node) <= part:
                    node.append(None)
                if node[part] is None:
                    node[part] = empty
                node = node[part]
            else:
                node = node.setdefault(part, empty)
        last = path[-1]
        if isinstance(node, list):
            while len(node) <= last:
                node.append(None)
        node[last] = value
    return root


def _numbered(state: dict[str, Any]) -> dict[str, Any]:
    """An optimizer state keyed by parameter names (DCP's form) in ``state_dict()``'s form:
    parameters numbered in the order the param groups list them."""
    groups = [dict(group) for group in state.get("param_groups", [])]
    ids: dict[str, int] = OrderedDict()
    for group in groups:
        names = group.get("params", [])
        for name in names:
            ids.setdefault(name, len(ids))
        group["params"] = [ids[name] for name in names]
    per_param = state.get("state", {})
    return {
        "state": {ids[name]: value for name, value in per_param.items() if name in ids},
        "param_groups": groups,
    }
