"""Paths that may be remote: ``s3://``, ``gs://``, ``az://``, ``memory://``... through fsspec.

Every place a checkpoint or log file is written, read, listed or removed goes through these
functions. A local path (or a ``file://`` URL) is handled with :mod:`os` directly, as before;
a URL with any other protocol goes to the `fsspec <https://filesystem-spec.readthedocs.io>`_
filesystem registered for it. fsspec is imported only when a remote path is first seen, so
local runs never load it::

    from plcore.utilities import cloud_io

    root = cloud_io.check_path("s3://bucket/run", "Trainer(default_root_dir=...)")  # s3fs missing: ImportError
    cloud_io.write_bytes("s3://bucket/run/x.bin", data)   # one PUT: the object is whole or absent
    cloud_io.listdir("s3://bucket/run")                    # ['x.bin']

The filesystem for a protocol takes its settings (endpoint, credentials) from the usual places:
the environment (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``...), the provider's config files,
or fsspec's configuration (``FSSPEC_S3_ENDPOINT_URL``, ``fsspec.config.conf``).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = [
    "append_text",
    "check_path",
    "exists",
    "get_filesystem",
    "glob",
    "is_remote",
    "isdir",
    "isfile",
    "listdir",
    "makedirs",
    "modified",
    "protocol",
    "read_bytes",
    "read_text",
    "remove",
    "write_bytes",
    "write_text",
]

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_LOCAL_PROTOCOLS = ("file", "local")  # URLs that name a local path

# The package that implements each common protocol, for the error when it is missing.
_PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "adl": "adlfs",
    "hf": "huggingface_hub",
    "sftp": "paramiko",
    "ssh": "paramiko",
}
# plkit's extras that install them.
_EXTRAS = {"s3fs": "s3", "gcsfs": "gcs", "adlfs": "azure"}
# Stores where one upload of a whole object is atomic: the object appears complete, or not at
# all (S3 PUT / multipart complete, GCS upload, an Azure block blob commit, memory's dict).
_ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})
# Object stores, which have no real folders: a "folder" exists once something is under it.
_OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})


def protocol(path: str | os.PathLike[str]) -> str | None:
    """The URL protocol of ``path`` in lower case (``"s3"``), or None for a local path or a
    ``file://`` URL.

    Args:
        path: a path or URL.
    """
    match = _URL.match(os.fspath(path))
    if match is None:
        return None
    name = match.group(1).lower()
    return None if name in _LOCAL_PROTOCOLS else name


def is_remote(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a URL that fsspec handles (anything but a local path or ``file://``).

    Args:
        path: a path or URL.
    """
    return protocol(path) is not None


def _as_local(path: str | os.PathLike[str]) -> str | None:
    """``path`` as a local path (``file://`` stripped), or None if it is remote, with one
    pattern match (logger and checkpoint paths are checked every few steps)."""
    text = os.fspath(path)
    match = _URL.match(text)
    if match is None:
        return text
    if match.group(1).lower() not in _LOCAL_PROTOCOLS:
        return None
    return text[len(match.group(0)) :] or "/"


def check_path(path: str | os.PathLike[str], what: str = "path") -> str:
    """``path`` as plkit stores it: a local path (``file://`` stripped) or a remote URL whose
    filesystem is installed. Call it where a path enters, so a missing package fails at once.

    Args:
        path: a path or URL.
        what: how errors name the argument, e.g. ``"ModelCheckpoint(dirpath=...)"``.

    Raises:
        ImportError: the protocol's filesystem package (``s3fs``, ``gcsfs``, ``adlfs``...) or
            fsspec itself is not installed; the message names what to install.
        ValueError: fsspec knows no filesystem for the protocol.
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    local = _as_local(text)
    if local is not None:
        return local
    name = protocol(text)
    assert name is not None  # not local, so a URL with a protocol
    _filesystem_class(name, text, what)
    return text


def _install_hint(package: str) -> str:
    extra = _EXTRAS.get(package)
    also = f" (or `pip install plkit[{extra}]`)" if extra else ""
    return f"`pip install {package}`{also}"


def _filesystem_class(name: str, text: str, what: str) -> type:
    try:
        import fsspec
    except ImportError as err:
        raise ImportError(
            f"{what}: {text!r} is remote storage ({name}://), which needs fsspec:"
            f" {_install_hint('fsspec')}. Nothing was read or written."
        ) from err
    try:
        return fsspec.get_filesystem_class(name)
    except ImportError as err:
        package = _PACKAGES.get(name)
        needs = f"the `{package}` package: {_install_hint(package)}" if package else f"({err})"
        raise ImportError(
            f"{what}: {text!r} is on {name}:// storage, which needs {needs}."
            " Nothing was read or written."
        ) from err
    except ValueError as err:
        raise ValueError(
            f"{what}: {text!r} uses the protocol {name}://, for which fsspec knows no filesystem;"
            " use a local path or a URL such as s3://bucket/folder."
        ) from err


def get_filesystem(path: str | os.PathLike[str], **storage_options: Any) -> AbstractFileSystem:
    """The fsspec filesystem for ``path`` (fsspec caches instances, so this is cheap to repeat).

    Args:
        path: a URL (a local path gives fsspec's local filesystem).
        **storage_options: passed to the filesystem (e.g. ``endpoint_url``, ``anon``).
    """
    from fsspec.core import url_to_fs

    fs, _ = url_to_fs(os.fspath(path), **storage_options)
    return fs


def _fs(path: str) -> tuple[AbstractFileSystem, str]:
    from fsspec.core import url_to_fs

    fs, inner = url_to_fs(path)
    return fs, inner


def exists(path: str) -> bool:
    """Whether a file or folder is at ``path``.

    Args:
        path: a path or URL.
    """
    local = _as_local(path)
    if local is not None:
        return os.path.exists(local)
    fs, inner = _fs(path)
    return bool(fs.exists(inner))


def isfile(path: str) -> bool:
    """Whether ``path`` is a file (an object, on object stores).

    Args:
        path: a path or URL.
    """
    local = _as_local(path)
    if local is not None:
        return os.path.isfile(local)
    fs, inner = _fs(path)
    return bool(fs.isfile(inner))


def isdir(path: str, strict: bool = True) -> bool:
    """Whether ``path`` is a folder.

    Args:
        path: a path or URL.
        strict: on object stores (S3, GCS, Azure), which create folders implicitly, False counts
            any path not taken by an object as a folder (one can be written into).
    """
    local = _as_local(path)
    if local is not None:
        return os.path.isdir(local)
    fs, inner = _fs(path)
    if not strict and protocol(path) in _OBJECT_STORES:
        return not fs.isfile(inner)
    return bool(fs.isdir(inner))


def listdir(path: str) -> list[str]:
    """The names (not paths) of the entries in the folder ``path``, sorted; a missing folder
    raises FileNotFoundError.

    Args:
        path: a path or URL.
    """
    local = _as_local(path)
    if local is not None:
        return sorted(os.listdir(local))
    fs, inner = _fs(path)
    if not fs.isdir(inner):
        raise FileNotFoundError(errno.ENOENT, "No such folder", path)
    return sorted(os.path.basename(str(entry).rstrip("/")) for entry in fs.ls(inner, detail=False))


def glob(pattern: str) -> list[str]:
    """The paths matching ``pattern`` (``*``, ``**``), as URLs when the pattern is one.

    Args:
        pattern: a path or URL with wildcards.
    """
    local = _as_local(pattern)
    if local is not None:
        import glob as _glob

        return sorted(_glob.glob(local, recursive=True))
    fs, inner = _fs(pattern)
    # Results spelled like the pattern ("memory://a/x", not fsspec's "memory:///a/x"), so
    # they compare equal to paths built by joining onto the same root.
    fixed = pattern[: min((pattern.find(c) for c in "*?[" if c in pattern), default=len(pattern))]
    url_root = fixed[: fixed.rfind("/") + 1]
    inner_root = _fs(url_root)[1].rstrip("/") + "/"
    found = []
    for path in fs.glob(inner):
        path = str(path)
        if path.startswith(inner_root):
            found.append(url_root + path[len(inner_root) :])
        else:
            found.append(fs.unstrip_protocol(path))
    return sorted(found)


def makedirs(path: str) -> None:
    """Create the folder ``path`` and its parents (a no-op on object stores).

    Args:
        path: a path or URL.
    """
    local = _as_local(path)
    if local is not None:
        os.makedirs(local, exist_ok=True)
        return
    fs, inner = _fs(path)
    fs.makedirs(inner, exist_ok=True)


def modified(path: str) -> float:
    """When the file at ``path`` was last written, as a POSIX timestamp.

    Args:
        path: a path or URL.
    """
    local = _as_local(path)
    if local is not None:
        return os.path.getmtime(local)
    fs, inner = _fs(path)
    return float(fs.modified(inner).timestamp())


def remove(path: str) -> None:
    """Delete the file (or folder, with its contents) at ``path``; a missing one is fine.

    Args:
        path: a path or URL.
    """
    local = _as_local(path)
    if local is not None:
        import shutil

        if os.path.isdir(local) and not os.path.islink(local):
            shutil.rmtree(local, ignore_errors=True)
            return
        try:
            os.remove(local)
        except FileNotFoundError:
            pass
        return
    fs, inner = _fs(path)
    if fs.exists(inner):
        fs.rm(inner, recursive=fs.isdir(inner))


def read_bytes(path: str) -> bytes:
    """The whole content of the file at ``path``.

    Args:
        path: a path or URL.
    """
    local = _as_local(path)
    if local is not None:
        with open(local, "rb") as file:
            return file.read()
    fs, inner = _fs(path)
    return bytes(fs.cat_file(inner))


def read_text(path: str) -> str:
    """The file at ``path`` decoded as UTF-8.

    Args:
        path: a path or URL.
    """
    return read_bytes(path).decode("utf-8")


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen half-written.

    Locally: a hidden temporary file in the same folder, flushed to disk, then renamed over
    ``path``. On object stores (S3, GCS, Azure) and ``memory://``: one upload of the whole
    object, which the store makes visible only once complete. On other filesystems: a hidden
    temporary file, then moved over ``path``.

    Args:
        path: the target; missing parent folders are created.
        data: the bytes.
    """
    local = _as_local(path)
    if local is not None:
        _write_local(local, data)
        return
    fs, inner = _fs(path)
    parent, _, name = inner.rstrip("/").rpartition("/")
    if protocol(path) not in _OBJECT_STORES and parent:
        fs.makedirs(parent, exist_ok=True)
    if protocol(path) in _ATOMIC_PUT:
        fs.pipe_file(inner, data)
        return
    tmp = f"{parent}/.{name}.tmp-{secrets.token_hex(4)}"
    try:
        fs.pipe_file(tmp, data)
        fs.mv(tmp, inner)
    except BaseException:
        if fs.exists(tmp):
            fs.rm(tmp)
        raise


def _write_local(path: str, data: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(
        folder, f".{os.path.basename(path)}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    )
    try:
        with open(tmp, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def write_text(path: str, text: str) -> None:
    """:func:`write_bytes` of ``text`` encoded as UTF-8.

    Args:
        path: the target.
        text: the content.
    """
    write_bytes(path, text.encode("utf-8"))


def append_text(path: str, text: str) -> None:
    """Add ``text`` at the end of the file at ``path`` (created if missing). Remote files are
    rewritten whole (object stores cannot append), so the file is never seen half-written.

    Args:
        path: the file.
        text: what to add.
    """
    local = _as_local(path)
    if local is not None:
        with open(local, "a", encoding="utf-8", newline="") as file:
            file.write(text)
        return
    before = read_bytes(path) if isfile(path) else b""
    write_bytes(path, before + text.encode("utf-8"))
