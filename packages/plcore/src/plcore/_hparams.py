"""Hyper-parameter capture behind ``LightningModule.save_hyperparameters``.

``save_hyperparameters(obj, ...)`` reads the arguments of the ``__init__`` that called it (and of
every ``__init__`` further up the same object's class chain), keeps the chosen ones on
``obj._hparams`` as an :class:`AttributeDict` (the values as given, as in Lightning), and a
deep copy on ``obj._hparams_initial``.

Checkpoints must load with ``torch.load(weights_only=True)``, which runs no code, so what a
checkpoint stores is a plain form of the values (:func:`for_checkpoint`), turned back on load
(:func:`from_checkpoint`):

- kept as is: None, bool, int, float, complex, str, bytes, tensors, ``torch.dtype``,
  ``torch.device``, ``torch.Size``, and lists, tuples, sets and dicts of these;
- converted: a ``pathlib`` path to ``str``, an ``argparse.Namespace``, a dataclass instance (its
  fields) and any other mapping to a dict, recursively (``load_from_checkpoint`` rebuilds a
  dataclass argument from the ``__init__`` annotation naming its class);
- stored by import path (``{"_plkit_import_path": "torch.nn.modules.linear.Linear"}``): classes,
  functions and ``Enum`` members that can be imported by name. Loading resolves the path only
  when its module is already imported (so loading imports nothing and runs no code); otherwise
  it warns and passes the path as a string;
- left out, with Lightning's warning: an ``nn.Module`` argument (its weights are in the
  ``state_dict``; pass it to ``load_from_checkpoint``, or use ``ignore=[...]``);
- left out, with a warning naming the argument: optimizers, numpy arrays, arbitrary objects
  (such arguments are not hyper-parameters; pass ``ignore=[name]``). Values that cannot be
  pickled at all (lambdas) are removed from ``hparams`` by the Trainer, as in Lightning.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import inspect
import pathlib
import pickle
import sys
import types
import warnings
from argparse import Namespace
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

__all__ = [
    "IMPORT_PATH_KEY",
    "AttributeDict",
    "for_checkpoint",
    "from_checkpoint",
    "get_hparams",
    "get_hparams_initial",
    "given_hyperparameters",
    "save_hyperparameters",
    "to_plain",
]

#: The key of the one-entry dict that stands for a class, function or Enum member in a checkpoint.
IMPORT_PATH_KEY = "_plkit_import_path"

_PLAIN_SCALARS = (type(None), bool, int, float, complex, str, bytes)
_TORCH_VALUES = (torch.Tensor, torch.dtype, torch.device, torch.Size)
# Names in an ``__init__`` frame that are never hyper-parameters.
_EXCLUDED_NAMES = frozenset({"self", "__class__", "frame", "frame_args"})
# How many non-``__init__`` frames to look through for the ``__init__`` (helpers called from it).
_MAX_HELPER_FRAMES = 8


class AttributeDict(dict):
    """A dict whose keys can also be read and written as attributes.

    Example::

        hp = AttributeDict(lr=0.1, layers=2)
        hp.lr          # 0.1
        hp.depth = 4   # same as hp["depth"] = 4
    """

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError as err:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{key}'"
            ) from err

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError as err:
            raise AttributeError(key) from err

    def __repr__(self) -> str:
        # One aligned "key": value row per entry, sorted, so printed hparams read like a table.
        if not self:
            return f"{type(self).__name__}()"
        width = max(len(str(key)) for key in self)
        return "\n".join(
            f'"{key}":{" " * (width - len(str(key)) + 1)}{value!r}'
            for key, value in sorted(self.items(), key=lambda kv: str(kv[0]))
        )

    def __copy__(self) -> AttributeDict:
        return type(self)(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> AttributeDict:
        return type(self)(copy.deepcopy(dict(self), memo))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle as an OrderedDict, which ``torch.load(weights_only=True)`` accepts, so a checkpoint
        # holding hparams needs no plcore class to load; the getters below turn it back.
        return (OrderedDict, (), None, None, iter(self.items()))


def _import_path(value: Any) -> str | None:
    """``module.qualname`` of an importable class, function or Enum member, else None."""
    if isinstance(value, enum.Enum):
        owner = _import_path(type(value))
        return None if owner is None else f"{owner}.{value.name}"
    if not (isinstance(value, type) or callable(value)):
        return None
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None  # lambdas and classes defined inside functions cannot be imported by name
    name = getattr(value, "__name__", None)
    if isinstance(name, str) and getattr(sys.modules.get(module), name, None) is value:
        return f"{module}.{name}"  # e.g. torch.relu rather than torch._VariableFunctionsClass.relu
    return f"{module}.{qualname}"


def to_plain(value: Any, name: str) -> Any:
    """``value`` converted to checkpoint-safe plain data, or a TypeError naming ``name``.

    Args:
        value: a hyper-parameter value.
        name: the argument name, used in the error message.
    """
    if isinstance(value, _PLAIN_SCALARS + _TORCH_VALUES):
        return value
    path = _import_path(value)
    if path is not None and not isinstance(value, torch.nn.Module):
        return {IMPORT_PATH_KEY: path}
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, Namespace):
        value = vars(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Its fields (as ``dataclasses.asdict``); loading rebuilds it from ``__init__``'s annotation.
        value = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {
            _plain_key(key, name): to_plain(item, f"{name}[{key!r}]") for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)) and not hasattr(value, "_fields"):
        items = [to_plain(item, f"{name}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, list):
            return items
        # frozenset becomes set: weights_only loading accepts set but not frozenset.
        return set(items) if isinstance(value, (set, frozenset)) else tuple(items)
    raise TypeError(
        f"Hyper-parameter `{name}` is a {type(value).__module__}.{type(value).__qualname__}, which a"
        " checkpoint cannot store safely (only None, bool, int, float, str, tensors, torch dtypes /"
        " devices, importable classes and functions, and lists, tuples and dicts of them). It is"
        f' probably not a hyper-parameter: write `self.save_hyperparameters(ignore=["{name.split("[")[0]}"])`.'
    )


def for_checkpoint(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """The plain form of ``hparams`` that a checkpoint stores.

    ``nn.Module`` values and values with no safe form (:func:`to_plain` refuses them) are left
    out; ``save_hyperparameters`` has warned about them.

    Args:
        hparams: the hyper-parameters as ``self.hparams`` holds them.
    """
    stored: dict[str, Any] = {}
    for key, value in hparams.items():
        if isinstance(value, torch.nn.Module):
            continue
        try:
            stored[key] = to_plain(value, key)
        except TypeError:
            continue
    return stored


def _warn_unstorable(hparams: Mapping[str, Any]) -> None:
    """Lightning's warning for ``nn.Module`` values; plkit's for values a checkpoint leaves out.

    Values that cannot be pickled at all get no warning here: the Trainer removes them from
    ``hparams`` when a run starts, with Lightning's warning (``clean_namespace``).
    """
    for key, value in hparams.items():
        if isinstance(value, torch.nn.Module):
            warnings.warn(
                f"Attribute {key!r} is an instance of `nn.Module` and is already saved during"
                " checkpointing. It is recommended to ignore them using"
                f" `self.save_hyperparameters(ignore={[key]!r})`.",
                UserWarning,
                stacklevel=4,
            )
            continue
        try:
            to_plain(value, key)
        except TypeError as err:
            if _picklable(value):
                warnings.warn(
                    f"{err} It is left out of checkpoints, which must load without running code.",
                    UserWarning,
                    stacklevel=4,
                )


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except (pickle.PickleError, AttributeError, RuntimeError, TypeError):
        return False
    return True


def from_checkpoint(saved: Any) -> Any:
    """Turn the import paths :func:`for_checkpoint` stored back into objects (recursively).

    A path resolves only when its module is already imported, so loading imports nothing;
    otherwise the dotted path is kept as a string, with a warning.

    Args:
        saved: the checkpoint's hyper-parameters (or any value inside them).
    """
    if isinstance(saved, Mapping):
        if len(saved) == 1 and isinstance(saved.get(IMPORT_PATH_KEY), str):
            return _resolve(saved[IMPORT_PATH_KEY])
        return type(saved)((key, from_checkpoint(value)) for key, value in saved.items())
    if isinstance(saved, (list, tuple, set)):
        return type(saved)(from_checkpoint(item) for item in saved)
    return saved


def _resolve(path: str) -> Any:
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        obj: Any = module
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        return obj
    warnings.warn(
        f"The checkpoint's hyper-parameter `{path}` names a class or function whose module is not"
        " imported; it is passed as the string. Import its module before loading to get the"
        " object back.",
        UserWarning,
        stacklevel=3,
    )
    return path


def _plain_key(key: Any, name: str) -> Any:
    """A dict key that weights_only loading accepts (an Enum key becomes its value)."""
    if isinstance(key, enum.Enum):
        key = key.value
    if isinstance(key, (type(None), bool, int, float, str)):
        return key
    raise TypeError(
        f"Hyper-parameter `{name}` has the key {key!r} of type {type(key).__name__}; dict keys must be"
        " None, bool, int, float or str so the checkpoint loads safely. Convert the keys to str."
    )


# Set while a command-line tool (plkit.cli) builds a module from its parsed config: the module's
# ``save_hyperparameters`` then stores that config instead of the ``__init__`` arguments.
_GIVEN: ContextVar[dict[str, Any] | None] = ContextVar("plcore_given_hparams", default=None)


@contextmanager
def given_hyperparameters(hparams: dict[str, Any], instantiator: str) -> Iterator[None]:
    """Within the block, ``save_hyperparameters()`` stores ``hparams`` (plus ``_instantiator``).

    ``load_from_checkpoint`` later rebuilds the object with the function registered under the
    import path ``instantiator`` (:func:`register_instantiator`).
    """
    token = _GIVEN.set({**hparams, "_instantiator": instantiator})
    try:
        yield
    finally:
        _GIVEN.reset(token)


def save_hyperparameters(
    obj: Any,
    *args: Any,
    ignore: Sequence[str] | str | None = None,
    frame: types.FrameType | None = None,
    logger: bool = True,
) -> None:
    """Collect hyper-parameters onto ``obj`` (``_hparams``, ``_hparams_initial``, ``_hparams_name``).

    Args:
        obj: the LightningModule or LightningDataModule being constructed.
        *args: nothing (all ``__init__`` arguments), argument names (only those), or one dict /
            ``argparse.Namespace`` / mapping whose entries become the hyper-parameters.
        ignore: an argument name or a list of names to leave out.
        frame: the caller's frame (the ``__init__`` that called ``save_hyperparameters``);
            defaults to the frame that called this function.
        logger: whether loggers should record these hyper-parameters (``obj._log_hyperparams``).
    """
    obj._log_hyperparams = logger
    if len(args) == 1 and not isinstance(args[0], str) and not args[0]:
        return  # an empty container: nothing to save, as in Lightning
    if frame is None:
        current = inspect.currentframe()
        frame = current.f_back if current is not None else None
    given = _GIVEN.get()
    collected = collect_init_args(obj, frame) if given is None else dict(given)
    init_args = _without_ignored(collected, ignore)
    hparams, name = _select(args, init_args)
    _warn_unstorable(hparams)
    obj._hparams_name = name
    stored = get_hparams(obj)
    stored.update(hparams)
    obj._hparams_initial = copy.deepcopy(stored)


def _without_ignored(
    init_args: dict[str, Any], ignore: Sequence[str] | str | None
) -> dict[str, Any]:
    if ignore is None:
        return init_args
    names = [ignore] if isinstance(ignore, str) else list(ignore)
    bad = [name for name in names if not isinstance(name, str)]
    if bad:
        raise TypeError(
            f"`ignore` takes argument names as strings, got {bad!r}; write e.g. ignore=['model']."
        )
    return {key: value for key, value in init_args.items() if key not in names}


def _select(args: tuple[Any, ...], init_args: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The chosen hyper-parameters and the name ``load_from_checkpoint`` should pass them under."""
    if not args:
        return init_args, ("kwargs" if init_args else None)
    configs = [arg for arg in args if not isinstance(arg, str)]
    if len(configs) == 1:
        config = _config_to_dict(configs[0])
        # When the config is itself one __init__ argument, loading passes it back under that name.
        names = [
            key for key, value in init_args.items() if value is configs[0] or _same(value, config)
        ]
        return config, (names[0] if names else None)
    if configs:
        raise ValueError(
            f"`save_hyperparameters` takes argument names or one dict/Namespace, got {len(configs)}"
            " non-string arguments; merge them into one dict."
        )
    missing = [name for name in args if name not in init_args]
    if missing:
        raise ValueError(
            f"`save_hyperparameters` got {missing!r}, which are not arguments of `__init__`"
            f" (or were ignored); the arguments are {sorted(init_args)!r}."
        )
    return {name: init_args[name] for name in args}, "kwargs"


def _same(value: Any, config: dict[str, Any]) -> bool:
    try:
        return (
            bool(_config_to_dict(value) == config)
            if isinstance(value, (Mapping, Namespace))
            else False
        )
    except (TypeError, RuntimeError):  # tensors inside make == ambiguous
        return False


def _config_to_dict(config: Any) -> dict[str, Any]:
    if isinstance(config, Namespace):
        return dict(vars(config))
    if isinstance(config, Mapping):
        return dict(config)
    if isinstance(config, (bool, int, float, str, complex)) or config is None:
        raise ValueError(
            f"Primitives are not allowed as hyper-parameters, got {config!r}; pass the argument"
            " name as a string or wrap values in a dict."
        )
    raise ValueError(
        f"Unsupported config type {type(config).__name__} for `save_hyperparameters`; pass a dict or"
        " an argparse.Namespace."
    )


def collect_init_args(obj: Any, frame: types.FrameType | None) -> dict[str, Any]:
    """Arguments of every running ``__init__`` of ``obj``, outermost class last (so it wins).

    Dataclass instances give their fields instead. ``*args`` are skipped (they have no names);
    the entries of ``**kwargs`` are included as if they were named arguments.

    Args:
        obj: the object under construction.
        frame: a frame inside (or called from) one of ``obj``'s ``__init__`` methods.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {field.name: getattr(obj, field.name) for field in dataclasses.fields(obj)}
    collected: dict[str, Any] = {}
    # Innermost first (a parent's __init__ running under a child's): outer values override.
    for init_frame in _init_frames(obj, frame):
        collected.update(_frame_args(init_frame))
    return collected


def _init_frames(obj: Any, frame: types.FrameType | None) -> Iterator[types.FrameType]:
    """Consecutive ``__init__`` frames of ``obj`` starting at ``frame`` (or a few frames above)."""
    skipped = 0
    while frame is not None and skipped <= _MAX_HELPER_FRAMES:
        if _is_init_of(obj, frame):
            yield frame
            skipped = _MAX_HELPER_FRAMES  # once inside, stop at the first frame that is not one
        else:
            skipped += 1
        frame = frame.f_back


def _is_init_of(obj: Any, frame: types.FrameType) -> bool:
    """Whether ``frame`` runs the ``__init__`` of a class in ``obj``'s MRO, on ``obj`` itself."""
    code = frame.f_code
    if code.co_name != "__init__" or code.co_argcount == 0:
        return False
    if frame.f_locals.get(code.co_varnames[0]) is not obj:
        return False
    # Matching the code object rules out an unrelated __init__ that merely received ``obj``.
    return any(
        getattr(cls.__dict__.get("__init__"), "__code__", None) is code for cls in type(obj).__mro__
    )


def _frame_args(frame: types.FrameType) -> dict[str, Any]:
    """The named arguments (and ``**kwargs`` entries) of the ``__init__`` running in ``frame``."""
    code = frame.f_code
    local_vars = frame.f_locals
    n_named = code.co_argcount + code.co_kwonlyargcount
    names = list(code.co_varnames[1:n_named])  # [0] is self
    has_varargs = bool(code.co_flags & inspect.CO_VARARGS)
    args = {
        name: local_vars[name]
        for name in names
        if name in local_vars and name not in _EXCLUDED_NAMES
    }
    if code.co_flags & inspect.CO_VARKEYWORDS:
        kwargs_name = code.co_varnames[n_named + has_varargs]
        args.update(local_vars.get(kwargs_name) or {})
    return args


def get_hparams(obj: Any) -> AttributeDict:
    """``obj``'s hyper-parameters (created empty on first access, then mutable in place).

    Args:
        obj: a LightningModule or LightningDataModule.
    """
    stored = getattr(obj, "_hparams", None)
    if not isinstance(stored, AttributeDict):
        # A plain dict comes back from pickling (see AttributeDict.__reduce__): keep its entries.
        obj._hparams = AttributeDict(stored) if isinstance(stored, dict) else AttributeDict()
    return obj._hparams


def get_hparams_initial(obj: Any) -> AttributeDict:
    """A copy of the hyper-parameters as first saved, unaffected by later edits.

    Args:
        obj: a LightningModule or LightningDataModule.
    """
    initial = getattr(obj, "_hparams_initial", None)
    return AttributeDict(copy.deepcopy(initial)) if isinstance(initial, dict) else AttributeDict()
