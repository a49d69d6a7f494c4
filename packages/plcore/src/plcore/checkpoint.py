"""Checkpoint files: the dict layout, an atomic write, a load that never runs code, and
``load_from_checkpoint``.

::

    from plcore.checkpoint import atomic_save, safe_load, check_plain

    check_plain(checkpoint)                 # TypeError naming the first value that would need pickle
    atomic_save(checkpoint, "ckpts/last.ckpt")   # readers see the old file or the new one, never half
    checkpoint = safe_load("ckpts/last.ckpt")     # torch.load(weights_only=True) with clear errors

    model = LitModel.load_from_checkpoint("ckpts/last.ckpt", lr=1e-4)   # kwargs override hparams

Differences from Lightning, all on the safe side: loading uses ``weights_only=True`` unless the
caller opts out; a truncated or corrupt file raises :class:`CheckpointError` naming the path; a file
that needs arbitrary unpickling raises :class:`UnsafeCheckpointError` without executing anything;
a tensor saved on a device this machine lacks (CUDA, MPS) loads onto the CPU instead of failing.
Lightning's own checkpoints load too when they hold only tensors and plain values.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import errno
import inspect
import io
import os
import pickle
import re
import secrets
import sys
import warnings
import zipfile
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_type_hints

import torch

from plcore._hparams import AttributeDict, for_checkpoint, from_checkpoint, given_hyperparameters
from plcore._sharded import (
    SHARDED_METADATA_FILENAME,
    is_sharded_checkpoint,
    load_sharded_checkpoint,
    safe_storage_reader,
)
from plcore.utilities import cloud_io

__all__ = [
    "CHECKPOINT_KEYS",
    "LIGHTNING_FORMAT_VERSION",
    "TrainingState",
    "build_checkpoint",
    "SHARDED_METADATA_FILENAME",
    "CheckpointError",
    "CheckpointIO",
    "TorchCheckpointIO",
    "UnsafeCheckpointError",
    "atomic_save",
    "check_plain",
    "for_checkpoint",
    "given_hyperparameters",
    "is_sharded_checkpoint",
    "load_from_checkpoint",
    "load_hparams_file",
    "load_sharded_checkpoint",
    "register_instantiator",
    "safe_load",
    "safe_storage_reader",
]

# The top-level keys of a Lightning 2.x checkpoint, in the order Lightning writes them. A
# datamodule's own state sits under its class ``__qualname__``; precision plugins add theirs.
CHECKPOINT_KEYS = [
    "epoch",
    "global_step",
    "pytorch-lightning_version",
    "state_dict",
    "loops",
    "callbacks",
    "optimizer_states",
    "lr_schedulers",
    "hparams_name",
    "hyper_parameters",
    "datamodule_hparams_name",
    "datamodule_hyper_parameters",
]
#: The Lightning release whose checkpoint layout plcore writes (Lightning's loader checks this key
#: to decide which of its format migrations a file needs: none, for this one).
LIGHTNING_FORMAT_VERSION = "2.6.6"


@dataclasses.dataclass
class TrainingState:
    """What a full (not weights-only) checkpoint adds: what a resume needs besides weights.

    Attributes:
        callbacks: each stateful callback's ``state_dict()`` under its ``state_key``.
        optimizer_states: each optimizer's ``state_dict()``.
        lr_schedulers: each scheduler's ``state_dict()``.
        precision: ``(key, state)`` of a precision plugin with state (a GradScaler's), or None.
    """

    callbacks: dict[str, Any]
    optimizer_states: list[Any]
    lr_schedulers: list[Any]
    precision: tuple[str, dict[str, Any]] | None = None


def build_checkpoint(
    *,
    epoch: int,
    global_step: int,
    state_dict: Mapping[str, Any],
    loops: dict[str, Any],
    module: Any,
    datamodule: Any = None,
    training: TrainingState | None = None,
    datamodule_state: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """A checkpoint dict in Lightning 2.x's layout and key order (:data:`CHECKPOINT_KEYS`).

    ``training`` None makes a weights-only checkpoint. The module's (and the datamodule's)
    saved hyper-parameters go under ``hparams_name`` / ``hyper_parameters`` (with a
    ``datamodule_`` prefix), as checkpoint-safe values; a datamodule's own ``state_dict()``
    under its class ``__qualname__``. The save hooks are the caller's to run afterwards.
    ``datamodule_state`` replaces the call of ``datamodule.state_dict`` (a caller that times
    the hook passes its timed call).
    """
    checkpoint: dict[str, Any] = {
        "epoch": epoch,
        "global_step": global_step,
        "pytorch-lightning_version": LIGHTNING_FORMAT_VERSION,
        "state_dict": state_dict,
        "loops": loops,
    }
    if training is not None:
        checkpoint["callbacks"] = training.callbacks
        checkpoint["optimizer_states"] = training.optimizer_states
        checkpoint["lr_schedulers"] = training.lr_schedulers
        if training.precision is not None:
            key, state = training.precision
            checkpoint[key] = state
    _add_hparams(checkpoint, module, "")
    if datamodule is not None:
        _add_hparams(checkpoint, datamodule, "datamodule_")
        dm_state = (datamodule_state or datamodule.state_dict)()
        if dm_state:
            checkpoint[type(datamodule).__qualname__] = dm_state
    return checkpoint


def _add_hparams(checkpoint: dict[str, Any], obj: Any, prefix: str) -> None:
    hparams = getattr(obj, "_hparams", None)
    if not hparams:  # none saved, or all removed (Lightning writes no keys then)
        return
    checkpoint[f"{prefix}hparams_name"] = getattr(obj, "_hparams_name", None)
    checkpoint[f"{prefix}hyper_parameters"] = for_checkpoint(hparams)


# A class that is not an nn.Module but has one of these is treated as a LightningDataModule.
_DATAMODULE_MARKERS = ("train_dataloader", "val_dataloader", "test_dataloader", "prepare_data")
# Keys under which very old Lightning versions stored a module's hyper-parameters.
_PAST_HPARAMS_KEYS = ("module_arguments", "hparams")

_PathLike = str | os.PathLike
_T = TypeVar("_T")


class CheckpointError(ValueError):
    """A checkpoint file is truncated, corrupt, or does not hold a checkpoint."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint needs arbitrary unpickling (which can run code) and was not loaded."""


# ---------------------------------------------------------------------------------------------
# Writing


def atomic_save(obj: Any, path: _PathLike) -> None:
    """Write ``torch.save(obj)`` to ``path`` so that ``path`` is never left half-written.

    The bytes go to a hidden temporary file in the same folder, are flushed to disk, and the
    temporary file is renamed onto ``path`` in one step. A crash or a full disk leaves whatever
    was at ``path`` before (a killed process may leave a hidden ``.NAME.tmp-*`` file behind).

    A remote ``path`` (``s3://``, ``gs://``, ``memory://``...; see
    :mod:`plcore.utilities.cloud_io`) is serialised in memory first, then uploaded as one whole
    object (object stores show it only once complete) or, on filesystems without atomic
    uploads, to a hidden temporary file moved over ``path``.

    Args:
        obj: what to save, usually the checkpoint dict.
        path: the final file (or URL); missing parent folders are created.

    Raises:
        OSError: with the original ``errno`` (e.g. ``ENOSPC``) and ``path`` in the message.
    """
    path = cloud_io.check_path(path, "checkpoint path")
    if cloud_io.is_remote(path):
        buffer = io.BytesIO()
        torch.save(obj, buffer)  # fails before anything reaches the store
        cloud_io.write_bytes(path, buffer.getvalue())
        return
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(
        folder, f".{os.path.basename(path)}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    )
    try:
        os.makedirs(folder, exist_ok=True)
        with open(tmp, "xb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        _remove_quietly(tmp)
        cause = _find_os_error(err)
        if cause is None:
            raise
        message = f"{cause.strerror or cause}; the checkpoint was not written, any previous file is intact"
        raise OSError(cause.errno, message, path) from err
    _fsync_folder(folder, path)


def _find_os_error(err: BaseException) -> OSError | None:
    """The OSError behind ``err``; torch.save wraps a failed write in a RuntimeError."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _fsync_folder(folder: str, path: str) -> None:
    """Persist the rename itself; skipped where folders cannot be opened (Windows)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as err:
        # Some file systems do not support fsync on a folder; the rename has happened anyway.
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES, errno.EPERM):
            raise OSError(
                err.errno, f"{err.strerror}; saved but could not flush the folder", path
            ) from err
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Reading


def safe_load(
    path: _PathLike, map_location: Any = None, weights_only: bool = True
) -> dict[str, Any]:
    """Load a checkpoint dict with ``torch.load``, refusing anything that would run code.

    Args:
        path: the checkpoint file.
        map_location: passed to ``torch.load`` (a device, a str, a dict or a callable).
        weights_only: keep True for files from anywhere; False unpickles arbitrary objects and
            is only for files from a source you trust.

    Raises:
        FileNotFoundError: no file at ``path``.
        UnsafeCheckpointError: the file needs full unpickling and ``weights_only`` is True.
        CheckpointError: the file is truncated, corrupt, or holds something other than a dict.
    """
    path = cloud_io.check_path(path, "checkpoint path")
    if not cloud_io.exists(path):
        raise FileNotFoundError(errno.ENOENT, "Checkpoint file not found", path)
    if is_sharded_checkpoint(path):  # a folder written by torch.distributed.checkpoint
        return load_sharded_checkpoint(path, map_location=map_location)
    # A remote file is read whole, once: torch.load seeks, which is slow over the network.
    source: str | io.BytesIO = (
        io.BytesIO(cloud_io.read_bytes(path)) if cloud_io.is_remote(path) else path
    )
    try:
        checkpoint = torch.load(source, map_location=map_location, weights_only=weights_only)
    except Exception as err:
        classified = _classify_load_error(err, path, weights_only, source)
        if classified is err:
            raise
        raise classified from err
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(
            f"{path!r} holds a {type(checkpoint).__name__}, not a checkpoint dict; load it with"
            " torch.load instead."
        )
    return checkpoint if isinstance(checkpoint, dict) else dict(checkpoint)


def _classify_load_error(
    err: Exception, path: str, weights_only: bool, source: str | io.BytesIO
) -> Exception:
    """The exception to raise for a failed ``torch.load`` of ``path`` (``err`` to re-raise it)."""
    intact = _zip_intact(source)
    if intact is False:
        return _corrupt_error(path, err)
    if weights_only and isinstance(err, pickle.UnpicklingError):
        # The weights-only unpickler names each global it refused as "GLOBAL module.name".
        names = re.findall(r"GLOBAL ([\w.]+)", str(err))
        if names or intact:
            return _unsafe_error(path, names)
    if intact:
        return err  # the bytes are fine: e.g. a class that is gone, under weights_only=False
    if not weights_only and isinstance(err, (AttributeError, ImportError)):
        return err  # a legacy file whose classes are gone: say so, not "corrupt"
    # Anything else from a file that is not an intact zip (IndexError, UnicodeDecodeError, ...
    # from the legacy unpickler reading garbage) means the bytes are damaged.
    return _corrupt_error(path, err)


def _corrupt_error(path: str, err: Exception) -> CheckpointError:
    return CheckpointError(
        f"Checkpoint {path!r} is truncated or corrupt ({type(err).__name__}: {_first_line(err)})."
        " It was probably not written completely; use an earlier checkpoint."
    )


def _unsafe_error(path: str, names: list[str]) -> UnsafeCheckpointError:
    needs = f" needs {', '.join(sorted(set(names)))}, which" if names else ""
    return UnsafeCheckpointError(
        f"Checkpoint {path!r}{needs} can only be rebuilt by full unpickling, and unpickling a file"
        " can run arbitrary code, so it was not loaded. If you trust where the file came from,"
        " load it with `weights_only=False` (or allow the classes with"
        " `torch.serialization.add_safe_globals`)."
    )


def _zip_intact(source: str | io.BytesIO) -> bool | None:
    """True for a readable zip checkpoint, False for a damaged one, None for a non-zip file."""
    try:
        if isinstance(source, io.BytesIO):
            magic = source.getvalue()[:4]
        else:
            with open(source, "rb") as file:
                magic = file.read(4)
        if magic != b"PK\x03\x04":
            return None
        with zipfile.ZipFile(source) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, RuntimeError):
        return False


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else "no details"


def _default_map_location(storage: Any, location: str) -> Any:
    """Keep tensors where they were saved, or on the CPU when that device is missing here."""
    if location.startswith("cuda") and not torch.cuda.is_available():
        return storage
    if location.startswith("mps") and not torch.backends.mps.is_available():
        return storage
    return None


# ---------------------------------------------------------------------------------------------
# Checking that a checkpoint will load safely

_PLAIN_LEAVES = (type(None), bool, int, float, complex, str, bytes, bytearray)
_TORCH_LEAVES = (torch.dtype, torch.device, torch.Size, torch.layout)
_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
_DICT_TYPES = (dict, OrderedDict, AttributeDict)  # AttributeDict pickles as an OrderedDict
_SEQUENCE_TYPES = (list, tuple, set)


def check_plain(obj: Any, where: str = "checkpoint") -> None:
    """Raise a TypeError naming the first value ``torch.load(weights_only=True)`` would refuse.

    Accepted: tensors, None, bool, int, float, complex, str, bytes, ``torch.dtype`` /
    ``device`` / ``Size`` / ``layout``, classes registered with
    ``torch.serialization.add_safe_globals``, and dicts, OrderedDicts, lists, tuples and sets
    of these.

    Args:
        obj: the object about to be saved.
        where: the name the key path starts with, e.g. ``checkpoint['callbacks']['X']``.
    """
    found = _first_unsafe(obj, where, _safe_global_types())
    if found is not None:
        key_path, value = found
        raise TypeError(
            f"{key_path} is a {type(value).__module__}.{type(value).__qualname__}, which"
            " `torch.load(weights_only=True)` cannot read back without running code. Store tensors"
            " or plain Python values there instead (e.g. convert it in `state_dict()` /"
            " `on_save_checkpoint`)."
        )


def _safe_global_types() -> tuple[type, ...]:
    entries = torch.serialization.get_safe_globals()
    found = (entry[0] if isinstance(entry, tuple) else entry for entry in entries)
    return tuple(entry for entry in found if isinstance(entry, type))


def _is_dtensor(kind: type) -> bool:
    return kind.__name__ == "DTensor" and kind.__module__.startswith("torch.distributed.tensor")


def _first_unsafe(obj: Any, where: str, allowed: tuple[type, ...]) -> tuple[str, Any] | None:
    kind = type(obj)
    if kind in _PLAIN_LEAVES or kind in _TENSOR_TYPES or isinstance(obj, _TORCH_LEAVES):
        return None
    if _is_dtensor(kind):  # a shard of a sharded checkpoint: saved by torch.distributed.checkpoint
        return None
    if kind in _DICT_TYPES:
        for key, value in obj.items():
            bad = _first_unsafe(key, f"{where} key {key!r}", allowed)
            bad = bad or _first_unsafe(value, f"{where}[{key!r}]", allowed)
            if bad is not None:
                return bad
        return None
    if kind in _SEQUENCE_TYPES:
        for index, value in enumerate(obj):
            bad = _first_unsafe(value, f"{where}[{index}]", allowed)
            if bad is not None:
                return bad
        return None
    return None if kind in allowed else (where, obj)


# ---------------------------------------------------------------------------------------------
# CheckpointIO


class CheckpointIO(ABC):
    """How checkpoint files are written, read and removed (``Trainer(plugins=[MyIO()])``).

    Subclass it and implement the three methods to store checkpoints elsewhere; the Trainer
    calls ``teardown`` when a run ends.

    Strategies read two optional attributes, duck-typed (an IO without them is synchronous and
    writes itself): ``is_async`` (True when saves return before the bytes are written, as
    :class:`~plcore.async_checkpoint.AsyncCheckpointIO`'s do: a sharded FSDP save is then written
    in the background too) and ``checkpoint_io`` (the IO a wrapper writes through). A sharded FSDP
    folder's shards go through the writing IO's ``storage_writer(path)`` when it has one (a
    ``torch.distributed.checkpoint.StorageWriter``; DCP's ``FileSystemWriter`` otherwise).
    """

    #: Whether ``save_checkpoint`` returns before the checkpoint is written (see above).
    is_async: bool = False

    @abstractmethod
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PathLike, storage_options: Any = None
    ) -> None:
        """Write ``checkpoint`` to ``path``."""

    @abstractmethod
    def load_checkpoint(self, path: _PathLike, map_location: Any = None) -> dict[str, Any]:
        """Read the checkpoint at ``path``."""

    @abstractmethod
    def remove_checkpoint(self, path: _PathLike) -> None:
        """Delete the checkpoint at ``path``."""

    def teardown(self) -> None:  # noqa: B027 - optional, with nothing to do by default
        """Release what the IO holds (nothing, by default)."""


class TorchCheckpointIO(CheckpointIO):
    """Saves checkpoints atomically with ``torch.save`` and loads them with :func:`safe_load`."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PathLike, storage_options: Any = None
    ) -> None:
        """Write ``checkpoint`` to ``path`` atomically (see :func:`atomic_save`).

        Args:
            checkpoint: the checkpoint dict.
            path: the target file; parent folders are created.
            storage_options: not supported here; must be None.
        """
        if storage_options is not None:
            raise TypeError(
                "`storage_options` is not supported by TorchCheckpointIO; subclass it and override"
                " `save_checkpoint` to use them, or pass storage_options=None."
            )
        atomic_save(checkpoint, path)

    def load_checkpoint(
        self, path: _PathLike, map_location: Any = None, weights_only: bool = True
    ) -> dict[str, Any]:
        """Load the checkpoint at ``path`` (see :func:`safe_load`).

        Args:
            path: the checkpoint file.
            map_location: where tensors go; None keeps their saved device when it exists here.
            weights_only: False allows arbitrary unpickling, for trusted files only.
        """
        location = _default_map_location if map_location is None else map_location
        return safe_load(path, map_location=location, weights_only=weights_only)

    def storage_reader(self, path: _PathLike) -> Any:
        """A ``torch.distributed.checkpoint`` reader for the sharded checkpoint folder ``path``
        that reads its metadata without running code (see :func:`safe_storage_reader`)."""
        local = cloud_io.check_path(path, "checkpoint path")
        if cloud_io.is_remote(local):
            raise ValueError(
                f"{local!r}: sharded checkpoint folders are read from the local disk only; copy"
                " the folder to a local path first (or save with state_dict_type='full')."
            )
        return safe_storage_reader(local)

    def remove_checkpoint(self, path: _PathLike) -> None:
        """Delete the checkpoint file (or folder) at ``path``; a missing one is fine.

        Args:
            path: the checkpoint to delete.
        """
        cloud_io.remove(cloud_io.check_path(path, "checkpoint path"))

    def teardown(self) -> None:
        """Nothing to release; present so strategies can call it unconditionally."""


# ---------------------------------------------------------------------------------------------
# load_from_checkpoint


def load_from_checkpoint(
    cls: type[_T],
    checkpoint_path: _PathLike,
    map_location: Any = None,
    hparams_file: _PathLike | None = None,
    strict: bool | None = None,
    weights_only: bool = True,
    **kwargs: Any,
) -> _T:
    """Build ``cls`` from its saved hyper-parameters and load its saved state.

    Works for LightningModule subclasses (any ``nn.Module`` subclass: weights are loaded) and for
    LightningDataModule subclasses (its ``load_state_dict`` gets its saved state, if any). The
    result is not switched to eval mode; call ``model.eval()`` before inference.

    Args:
        cls: the class to instantiate.
        checkpoint_path: the checkpoint file.
        map_location: where tensors go (a device, a str, a dict or a callable, as in
            ``torch.load``); the model is moved to the device its weights end up on. None keeps
            the saved devices, falling back to the CPU for devices this machine lacks.
        hparams_file: a ``.yaml``/``.yml`` or ``.csv`` file whose hyper-parameters replace the
            saved ones.
        strict: whether the weights must match the model's keys exactly; None means the model's
            ``strict_loading`` (True by default).
        weights_only: False allows arbitrary unpickling, for files from a trusted source only.
        **kwargs: ``__init__`` arguments that override (or add to) the saved hyper-parameters.
    """
    is_module = _is_module_class(cls)
    prefix = "" if is_module else "datamodule_"
    location = _default_map_location if map_location is None else map_location
    checkpoint = safe_load(checkpoint_path, map_location=location, weights_only=weights_only)
    key = f"{prefix}hyper_parameters"
    saved = load_hparams_file(hparams_file) if hparams_file is not None else checkpoint.get(key)
    saved = from_checkpoint(saved)  # classes / functions stored by import path
    saved = {**_past_hparams(checkpoint, is_module), **(saved or {})}
    # As in Lightning, ``on_load_checkpoint`` sees the hyper-parameters with the overrides applied.
    checkpoint[key] = {**saved, **kwargs}
    if "_instantiator" in saved or "_instantiator" in kwargs:
        obj = _instantiated(cls, {**saved, **kwargs})
    else:
        init_kwargs = _init_kwargs(cls, saved, checkpoint.get(f"{prefix}hparams_name"), kwargs)
        obj = cls(**_with_dataclasses(cls, init_kwargs))
    if not is_module:
        state = checkpoint.get(type(obj).__qualname__)
        if state is not None:
            obj.load_state_dict(state)
        return obj
    return _restore_module(obj, checkpoint, strict, cloud_io.check_path(checkpoint_path))


# The functions a checkpoint's ``_instantiator`` may name (``given_hyperparameters`` stores it), by
# import path. Only registered functions run: a checkpoint cannot make loading import or call
# anything else.
_INSTANTIATORS: dict[str, Callable[[type, dict[str, Any]], Any]] = {}


def register_instantiator(path: str, function: Callable[[type, dict[str, Any]], Any]) -> None:
    """Let ``load_from_checkpoint`` rebuild objects whose hyper-parameters name ``path``.

    Args:
        path: the import path a checkpoint's ``_instantiator`` hyper-parameter holds
            (``"plkit.cli.instantiate_module"``).
        function: called as ``function(cls, hyper_parameters)``; returns the new object.
    """
    _INSTANTIATORS[path] = function


def _instantiated(cls: type[_T], hparams: dict[str, Any]) -> _T:
    """``cls`` rebuilt by the registered function its hyper-parameters name."""
    path = hparams.pop("_instantiator")
    function = _INSTANTIATORS.get(path) if isinstance(path, str) else None
    if function is None:
        raise ValueError(
            f"The instantiator {path!r} from the checkpoint is not in the allowlist of trusted"
            " instantiators and was blocked to prevent arbitrary code execution. If you trust this"
            " checkpoint, register it with `plcore.checkpoint.register_instantiator` (importing"
            " plkit registers LightningCLI's) before loading."
        )
    class_path = hparams.get("_class_path")
    if class_path is not None and not _is_imported_subclass(class_path, cls):
        raise ValueError(
            f"The class {class_path!r} requested by the checkpoint does not resolve to an already"
            f" imported subclass of {cls.__name__} and was blocked to prevent arbitrary code"
            " execution. If you trust this checkpoint, import the module that defines the class"
            " before loading."
        )
    params = inspect.signature(cls.__init__).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        names = {p.name for p in params}
        hparams = {key: value for key, value in hparams.items() if key in names}
    return function(cls, hparams)


def _is_imported_subclass(class_path: Any, cls: type) -> bool:
    """Whether ``class_path`` names a class of an imported module that subclasses ``cls``."""
    if not isinstance(class_path, str) or "." not in class_path:
        return False
    module_name, _, name = class_path.rpartition(".")
    module = sys.modules.get(module_name)
    found = getattr(module, name, None) if module is not None else None
    return isinstance(found, type) and issubclass(found, cls)


def _is_module_class(cls: Any) -> bool:
    """True for nn.Module subclasses, False for datamodules; TypeError for anything else."""
    if not isinstance(cls, type):
        raise TypeError(f"`load_from_checkpoint` needs a class, got {cls!r}; call it on the class.")
    if issubclass(cls, torch.nn.Module):
        return True
    if any(hasattr(cls, name) for name in _DATAMODULE_MARKERS):
        return False
    raise TypeError(
        f"`load_from_checkpoint` supports LightningModule and LightningDataModule subclasses, got"
        f" {cls.__qualname__}."
    )


def _past_hparams(checkpoint: dict[str, Any], is_module: bool) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in _PAST_HPARAMS_KEYS if is_module else ():
        if isinstance(checkpoint.get(key), Mapping):
            merged.update(checkpoint[key])
    return merged


def _init_kwargs(
    cls: type, saved: dict[str, Any], hparams_name: str | None, overrides: dict[str, Any]
) -> dict[str, Any]:
    """The keyword arguments for ``cls(...)``: all of them if it takes ``**kwargs``, else the known."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    named = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if hparams_name and hparams_name in named:
        # The hyper-parameters were one ``__init__`` argument (a dict or Namespace): rebuild it,
        # with overrides that are not ``__init__`` arguments going inside it.
        inner = {key: value for key, value in overrides.items() if key not in named}
        outer = {key: value for key, value in overrides.items() if key in named}
        # AttributeDict: both ``config['lr']`` and ``config.lr`` (Namespace style) keep working.
        return {hparams_name: AttributeDict({**saved, **inner}), **outer}
    merged = {**saved, **overrides}
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return merged
    unknown = sorted(name for name in overrides if name not in named)
    if unknown:
        warnings.warn(
            f"`{cls.__qualname__}.__init__` takes no argument(s) {unknown}; these keyword arguments"
            f" to `load_from_checkpoint` are ignored. Its arguments are {named}.",
            stacklevel=4,
        )
    # Saved from ``__init__`` arguments that ``__init__`` no longer takes: Lightning drops them
    # silently, so a setting the run was trained with would be lost unseen.
    # Arguments of a parent's ``__init__`` are saved too, and dropping them is expected.
    chain = {name for base in cls.__mro__ for name in _init_parameter_names(base)}
    dropped = sorted(str(name) for name in saved if name not in chain and name not in overrides)
    if dropped and hparams_name == "kwargs":
        warnings.warn(
            f"The checkpoint's hyper-parameter(s) {dropped} are not arguments of"
            f" `{cls.__qualname__}.__init__` (its arguments are {named}), so they are left out"
            " and the new object is built without them. Add them back to `__init__` (or a `**kwargs`)"
            " to use them, or remove them from the checkpoint's 'hyper_parameters' to silence"
            " this.",
            UserWarning,
            stacklevel=4,
        )
    return {key: value for key, value in merged.items() if key in named}


def _init_parameter_names(cls: type) -> list[str]:
    """The parameter names of the ``__init__`` defined on ``cls`` itself (none if it has none)."""
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    if code is None:
        return []
    return list(code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount])


def _with_dataclasses(cls: type, init_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Dicts stored for dataclass arguments, rebuilt as the class ``__init__``'s annotation names
    (the class comes from the user's code, never from the checkpoint)."""
    try:
        hints = get_type_hints(cls.__init__)
    except Exception:  # unresolvable annotations: pass the values as stored
        return init_kwargs
    rebuilt = dict(init_kwargs)
    for name, value in init_kwargs.items():
        hint = hints.get(name)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
            try:
                rebuilt[name] = hint(**value)
            except TypeError as err:
                raise TypeError(
                    f"The checkpoint's hyper-parameter `{name}` holds the fields"
                    f" {sorted(map(str, value))} of a {hint.__qualname__}, which no longer accepts"
                    f" them ({err}). Pass `{name}=...` to `load_from_checkpoint`."
                ) from err
    return rebuilt


def _restore_module(obj: Any, checkpoint: dict[str, Any], strict: bool | None, path: str) -> Any:
    """Run ``configure_model`` (if overridden) and ``on_load_checkpoint``, load the weights, and
    move ``obj`` to their device."""
    from plcore.hooks import is_overridden
    from plcore.module import LightningModule  # here: plcore.module imports this module

    strict = _resolve_strict(obj, strict)
    if isinstance(obj, LightningModule) and is_overridden(obj, "configure_model", LightningModule):
        obj.configure_model()  # layers it builds must exist before their weights are loaded
    if callable(getattr(obj, "on_load_checkpoint", None)):
        obj.on_load_checkpoint(checkpoint)
    if "state_dict" not in checkpoint:
        raise CheckpointError(
            f"Checkpoint {path!r} has no 'state_dict' entry, so it holds no model weights"
            f" (top-level keys: {sorted(map(str, checkpoint))})."
        )
    state_dict = checkpoint["state_dict"]
    _load_weights(obj, state_dict, strict, path)
    if not state_dict:
        warnings.warn(f"The state dict in {path!r} contains no parameters.", stacklevel=4)
        return obj
    first = next((t for t in state_dict.values() if isinstance(t, torch.Tensor)), None)
    return obj if first is None else obj.to(first.device)


def _resolve_strict(obj: Any, strict: bool | None) -> bool:
    own = getattr(obj, "_strict_loading", None)
    if strict is not None and own is not None and strict != own:
        raise ValueError(
            f"`load_from_checkpoint(..., strict={strict})` conflicts with"
            f" `{type(obj).__qualname__}.strict_loading = {own}`; set only one of them."
        )
    if strict is not None:
        return strict
    default = getattr(obj, "strict_loading", True)
    return default if isinstance(default, bool) else True


def _load_weights(obj: Any, state_dict: Mapping[str, Any], strict: bool, path: str) -> None:
    """``obj.load_state_dict`` with key mismatches spelled out (error if strict, else warning)."""
    try:
        result = obj.load_state_dict(state_dict, strict=strict)
    except RuntimeError as err:
        missing, unexpected = _key_diff(obj, state_dict)
        if not (missing or unexpected):
            raise RuntimeError(f"Could not load the weights from {path!r}: {err}") from err
        raise RuntimeError(
            f"The weights in {path!r} do not match {type(obj).__qualname__}.\n"
            f"  Missing from the checkpoint ({len(missing)}): {missing}\n"
            f"  Unexpected in the checkpoint ({len(unexpected)}): {unexpected}\n"
            "Pass `strict=False` to load the matching weights only."
        ) from err
    if strict or result is None:
        return
    if result.missing_keys:
        warnings.warn(
            f"Found keys that are in the model state dict but not in the checkpoint: {result.missing_keys}",
            stacklevel=5,
        )
    if result.unexpected_keys:
        warnings.warn(
            f"Found keys that are not in the model state dict but in the checkpoint: {result.unexpected_keys}",
            stacklevel=5,
        )


def _key_diff(obj: Any, state_dict: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    expected = set(obj.state_dict())
    given = set(state_dict)
    return sorted(expected - given), sorted(given - expected)


# ---------------------------------------------------------------------------------------------
# hparams files


def load_hparams_file(path: _PathLike) -> dict[str, Any]:
    """Read hyper-parameters from a ``.yaml``/``.yml`` file or a ``key,value`` ``.csv`` file.

    YAML is read with ``yaml.safe_load`` (PyYAML is needed only for this); CSV values are parsed
    as Python literals where possible, else kept as strings.

    Args:
        path: the file, e.g. a logger's ``hparams.yaml``.
    """
    path = cloud_io.check_path(path, "hparams_file")
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".csv", ".yml", ".yaml"):
        raise ValueError(f"`hparams_file` must end in .csv, .yml or .yaml, got {path!r}.")
    if not cloud_io.isfile(path):
        raise FileNotFoundError(errno.ENOENT, "hparams_file not found", path)
    loaded = _read_csv_hparams(path) if extension == ".csv" else _read_yaml_hparams(path)
    if not isinstance(loaded, Mapping):
        raise ValueError(
            f"`hparams_file` {path!r} must hold a mapping of names to values, got {type(loaded).__name__}."
        )
    return dict(loaded)


def _read_csv_hparams(path: str) -> dict[str, Any]:
    rows = list(csv.reader(io.StringIO(cloud_io.read_text(path), newline="")))
    return {row[0]: _literal(row[1]) for row in rows[1:] if len(row) >= 2}


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _read_yaml_hparams(path: str) -> Any:
    try:
        import yaml  # optional: only needed to read hparams files
    except ImportError as err:
        raise ImportError(
            "Reading a YAML `hparams_file` needs PyYAML: `pip install pyyaml`."
        ) from err
    try:
        loaded = yaml.safe_load(cloud_io.read_text(path))
    except yaml.YAMLError as err:
        raise ValueError(
            f"`hparams_file` {path!r} is not plain YAML ({_first_line(err)}); tagged Python objects"
            " are not read, for safety."
        ) from err
    return {} if loaded is None else loaded
