"""The in-process half of the compatibility suite: what a scenario records, and how.

A scenario is a user-style script written once against ``pl`` — ``plkit`` or
``pytorch_lightning``, chosen by the environment variable ``COMPAT_IMPL`` — and run by
``runner.py`` in a fresh process and a fresh working directory. Everything a user can observe
goes into one JSON trace (``T``): the hooks called, in order, with their light arguments; what
each logger receives; the progress bars' states; the trainer's counters after each entry point;
the files written and what is in them; warnings, the exception and the final weights.

Only public names of either implementation are used here, so that the same recorder watches
both. Names that differ between the two packages (the module that holds an exception class, the
package name in a message) are normalised when recorded, never by the comparer.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

IMPL = os.environ.get("COMPAT_IMPL", "plkit")
_PACKAGE = {"plkit": "plkit", "lightning": "pytorch_lightning"}[IMPL]
pl: Any = importlib.import_module(_PACKAGE)


def imp(module: str) -> Any:
    """Import ``<impl>.<module>`` (``imp("utilities.exceptions")``), as a user's import would."""
    return importlib.import_module(f"{_PACKAGE}.{module}")


# ----------------------------------------------------------------------------------------------
# Light values: what is recorded of an argument or a result
# ----------------------------------------------------------------------------------------------


def light(value: Any, depth: int = 0) -> Any:
    """A JSON-able summary of ``value``: numbers as numbers, tensors as small lists or stats."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, torch.Tensor):
        t = value.detach().to("cpu")
        if t.is_floating_point() and t.dtype != torch.float64:
            t = t.double()
        if t.numel() == 1:
            item = t.item()
            return {"tensor": light(item), "shape": list(value.shape), "dtype": str(value.dtype)}
        out: dict[str, Any] = {"shape": list(value.shape), "dtype": str(value.dtype)}
        if t.numel() <= 16:
            out["values"] = [light(v) for v in t.flatten().tolist()]
        elif t.numel():
            out["sum"] = light(t.double().sum().item())
            out["abs_sum"] = light(t.double().abs().sum().item())
        return out
    if depth > 4:
        return type(value).__name__
    if isinstance(value, Mapping):
        return {str(k): light(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [light(v, depth + 1) for v in value]
    if isinstance(value, torch.optim.Optimizer):
        return {"optimizer": type(value).__name__, "lr": [g.get("lr") for g in value.param_groups]}
    if isinstance(value, torch.device):
        return str(value)
    return type(value).__name__


def shape_of(value: Any) -> Any:
    """The structure of a batch or step output without its numbers."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return f"Tensor{list(value.shape)}"
    if isinstance(value, Mapping):
        return {str(k): shape_of(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [shape_of(v) for v in value]
    return type(value).__name__


# ----------------------------------------------------------------------------------------------
# The trace
# ----------------------------------------------------------------------------------------------


class Trace:
    """One scenario's observations; ``runner.py`` writes ``T.data`` as JSON."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {
            "hooks": [],
            "logger_calls": [],
            "entry_points": [],
            "bars": [],
            "warnings": [],
            "notes": {},
        }
        self.module: Any = None

    # -- free-form ------------------------------------------------------------------------------
    def final(self, module: Any) -> None:
        """Name the module whose weights the trace ends with."""
        self.module = module

    def note(self, key: str, value: Any) -> None:
        """Record ``value`` (made light) under ``notes[key]``; paths in it made relative."""
        self.data["notes"][key] = _rel_paths(light(value))

    def hook(self, owner: str, name: str, **args: Any) -> None:
        self.data["hooks"].append([owner, name, {k: v for k, v in args.items()}])

    # -- entry points ---------------------------------------------------------------------------
    def call(self, trainer: Any, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``trainer.<fn>(...)``, record its result and the trainer's state after it."""
        entry: dict[str, Any] = {"fn": fn}
        self.data["entry_points"].append(entry)
        try:
            result = getattr(trainer, fn)(*args, **kwargs)
        except BaseException as exc:
            entry["raised"] = exception_info(exc)
            entry["state"] = trainer_state(trainer)
            raise
        entry["result"] = light(result)
        entry["state"] = trainer_state(trainer)
        return result

    def fit(self, trainer: Any, *args: Any, **kwargs: Any) -> Any:
        return self.call(trainer, "fit", *args, **kwargs)

    def validate(self, trainer: Any, *args: Any, **kwargs: Any) -> Any:
        return self.call(trainer, "validate", *args, **kwargs)

    def test(self, trainer: Any, *args: Any, **kwargs: Any) -> Any:
        return self.call(trainer, "test", *args, **kwargs)

    def predict(self, trainer: Any, *args: Any, **kwargs: Any) -> Any:
        return self.call(trainer, "predict", *args, **kwargs)

    # -- progress bars (tqdm.display is patched in install_patches) -----------------------------
    def bar_display(self, bar: Any) -> None:
        # The record hangs on the bar itself: an id() can be reused by a later bar once the
        # first is garbage-collected, which would merge two bars into one record.
        rec = getattr(bar, "_compat_record", None)
        if rec is None:
            rec = {"descs": [], "totals": [], "final": None}
            bar._compat_record = rec
            self.data["bars"].append(rec)
        desc = str(bar.desc or "").rstrip(": ").strip()
        if not rec["descs"] or rec["descs"][-1] != desc:
            rec["descs"].append(desc)
        total = bar.total
        total = total if total is None or total == float("inf") else int(total)
        if total == float("inf"):
            total = "inf"
        if not rec["totals"] or rec["totals"][-1] != total:
            rec["totals"].append(total)
        rec["final"] = {
            "desc": desc,
            "n": int(bar.n),
            "total": total,
            "postfix": bar.postfix,
            "leave": bool(bar.leave),
        }


T = Trace()


# ----------------------------------------------------------------------------------------------
# Exceptions and trainer state
# ----------------------------------------------------------------------------------------------


def exception_info(exc: BaseException) -> dict[str, Any]:
    """The exception's class and the names of the classes a user's ``except`` could catch."""
    mro = [c.__name__ for c in type(exc).__mro__ if c not in (object, BaseException)]
    return {"class": type(exc).__name__, "mro": mro}


def _metrics(values: Any) -> Any:
    if values is None:
        return None
    return {str(k): light(v) for k, v in dict(values).items()}


def trainer_state(trainer: Any) -> dict[str, Any]:
    """The counters and metrics a user reads off the trainer after an entry point."""
    out: dict[str, Any] = {}
    state = getattr(trainer, "state", None)
    if state is not None:
        out["fn"] = _enum(getattr(state, "fn", None))
        out["status"] = _enum(getattr(state, "status", None))
        out["stage"] = _enum(getattr(state, "stage", None))
    for name in (
        "current_epoch",
        "global_step",
        "should_stop",
        "interrupted",
        "num_training_batches",
        "num_val_batches",
        "num_sanity_val_batches",
        "num_test_batches",
        "num_predict_batches",
        "training",
        "sanity_checking",
        "max_epochs",
        "min_epochs",
        "max_steps",
        "min_steps",
        "val_check_interval",
        "check_val_every_n_epoch",
        "log_every_n_steps",
        "accumulate_grad_batches",
        "gradient_clip_val",
        "gradient_clip_algorithm",
        "precision",
        "world_size",
        "global_rank",
        "num_devices",
        "estimated_stepping_batches",
        "is_last_batch",
    ):
        try:
            out[name] = light(getattr(trainer, name))
        except Exception as exc:  # a property that raises is recorded as such
            out[name] = {"raises": type(exc).__name__}
    for name in ("callback_metrics", "logged_metrics", "progress_bar_metrics"):
        out[name] = _metrics(getattr(trainer, name, None))
    try:
        out["checkpoint_callback"] = _checkpoint_cb(trainer.checkpoint_callback)
    except Exception as exc:
        out["checkpoint_callback"] = {"raises": type(exc).__name__}
    out["callbacks"] = [type(c).__name__ for c in trainer.callbacks]
    out["loggers"] = [type(lg).__name__ for lg in trainer.loggers]
    try:
        out["log_dir"] = rel(trainer.log_dir)
    except Exception as exc:
        out["log_dir"] = {"raises": type(exc).__name__}
    out["default_root_dir"] = rel(trainer.default_root_dir)
    return out


def _checkpoint_cb(cb: Any) -> Any:
    if cb is None:
        return None
    best = cb.best_model_score
    return {
        "best_model_path": rel(cb.best_model_path),
        "best_model_score": light(best),
        "last_model_path": rel(cb.last_model_path),
        "best_k_models": {rel(k): light(v) for k, v in cb.best_k_models.items()},
        "kth_best_model_path": rel(cb.kth_best_model_path),
        "dirpath": rel(cb.dirpath),
    }


def _rel_paths(value: Any) -> Any:
    """``value`` with every string (and dict key) under the working directory made relative."""
    if isinstance(value, str):
        return rel(value)
    if isinstance(value, dict):
        return {rel(k): _rel_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rel_paths(v) for v in value]
    return value


def _enum(value: Any) -> Any:
    if value is None:
        return None
    return getattr(value, "value", str(value))


_CWD = Path.cwd()


def rel(path: Any) -> Any:
    """A path relative to the scenario's working directory (``<tmp>`` stripped)."""
    if path is None or path == "":
        return path
    text = str(path)
    base = str(_CWD)
    if text.startswith(base):
        text = "." + text[len(base) :]
    return text


# ----------------------------------------------------------------------------------------------
# Recorders: a callback, a LightningModule mixin, a datamodule mixin, patched loggers and bars
# ----------------------------------------------------------------------------------------------


def _cb_args(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The light arguments of callback hook ``name`` (its trainer and module left out)."""
    rest = list(args[2:])
    out: dict[str, Any] = {}
    if name in ("setup", "teardown"):
        out["stage"] = kwargs.get("stage", rest[0] if rest else None)
    elif name.endswith("batch_end"):
        outputs, _batch, batch_idx, *more = rest
        out["outputs"] = shape_of(outputs)
        out["batch_idx"] = batch_idx
        if more:
            out["dataloader_idx"] = more[0]
        elif "dataloader_idx" in kwargs:
            out["dataloader_idx"] = kwargs["dataloader_idx"]
    elif name.endswith("batch_start"):
        _batch, batch_idx, *more = rest
        out["batch_idx"] = batch_idx
        if more:
            out["dataloader_idx"] = more[0]
        elif "dataloader_idx" in kwargs:
            out["dataloader_idx"] = kwargs["dataloader_idx"]
    elif name == "on_exception":
        out["exception"] = type(rest[0]).__name__
    elif name in ("on_save_checkpoint", "on_load_checkpoint"):
        out["keys"] = sorted(rest[0])
    elif name in ("on_before_optimizer_step", "on_before_zero_grad"):
        out["optimizer"] = type(rest[0]).__name__
    return out


CALLBACK_HOOKS = (
    "setup",
    "teardown",
    "on_fit_start",
    "on_fit_end",
    "on_sanity_check_start",
    "on_sanity_check_end",
    "on_train_batch_start",
    "on_train_batch_end",
    "on_train_epoch_start",
    "on_train_epoch_end",
    "on_validation_epoch_start",
    "on_validation_epoch_end",
    "on_test_epoch_start",
    "on_test_epoch_end",
    "on_predict_epoch_start",
    "on_predict_epoch_end",
    "on_validation_batch_start",
    "on_validation_batch_end",
    "on_test_batch_start",
    "on_test_batch_end",
    "on_predict_batch_start",
    "on_predict_batch_end",
    "on_train_start",
    "on_train_end",
    "on_validation_start",
    "on_validation_end",
    "on_test_start",
    "on_test_end",
    "on_predict_start",
    "on_predict_end",
    "on_exception",
    "on_save_checkpoint",
    "on_load_checkpoint",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
)


def _make_recording_callback() -> type:
    def make(name: str) -> Callable[..., Any]:
        def hook(self: Any, *args: Any, **kwargs: Any) -> None:
            T.hook(self.label, name, **_cb_args(name, args, kwargs))

        hook.__name__ = name
        return hook

    ns: dict[str, Any] = {name: make(name) for name in CALLBACK_HOOKS}

    def __init__(self: Any, label: str = "cb") -> None:
        self.label = label

    def state_dict(self: Any) -> dict[str, Any]:
        T.hook(self.label, "state_dict")
        return {"label": self.label}

    def load_state_dict(self: Any, state_dict: dict[str, Any]) -> None:
        T.hook(self.label, "load_state_dict", keys=sorted(state_dict))

    ns.update(__init__=__init__, state_dict=state_dict, load_state_dict=load_state_dict)
    return type("RecordingCallback", (pl.Callback,), ns)


RecordingCallback: Any = _make_recording_callback()

# Module hooks with the light arguments to record (names of positional parameters after self).
MODULE_HOOKS: dict[str, tuple[str, ...]] = {
    "prepare_data": (),
    "setup": ("stage",),
    "teardown": ("stage",),
    "configure_model": (),
    "configure_optimizers": (),
    "on_fit_start": (),
    "on_fit_end": (),
    "on_train_start": (),
    "on_train_end": (),
    "on_validation_start": (),
    "on_validation_end": (),
    "on_test_start": (),
    "on_test_end": (),
    "on_predict_start": (),
    "on_predict_end": (),
    "on_train_epoch_start": (),
    "on_train_epoch_end": (),
    "on_validation_epoch_start": (),
    "on_validation_epoch_end": (),
    "on_test_epoch_start": (),
    "on_test_epoch_end": (),
    "on_predict_epoch_start": (),
    "on_predict_epoch_end": (),
    "on_validation_model_eval": (),
    "on_validation_model_train": (),
    "on_validation_model_zero_grad": (),
    "on_test_model_eval": (),
    "on_test_model_train": (),
    "on_predict_model_eval": (),
    "on_train_batch_start": ("batch", "batch_idx"),
    "on_train_batch_end": ("outputs", "batch", "batch_idx"),
    "on_validation_batch_start": ("batch", "batch_idx", "dataloader_idx"),
    "on_validation_batch_end": ("outputs", "batch", "batch_idx", "dataloader_idx"),
    "on_test_batch_start": ("batch", "batch_idx", "dataloader_idx"),
    "on_test_batch_end": ("outputs", "batch", "batch_idx", "dataloader_idx"),
    "on_predict_batch_start": ("batch", "batch_idx", "dataloader_idx"),
    "on_predict_batch_end": ("outputs", "batch", "batch_idx", "dataloader_idx"),
    "on_before_zero_grad": ("optimizer",),
    "on_before_backward": ("loss",),
    "on_after_backward": (),
    "on_before_optimizer_step": ("optimizer",),
    "on_save_checkpoint": ("checkpoint",),
    "on_load_checkpoint": ("checkpoint",),
    "on_before_batch_transfer": ("batch", "dataloader_idx"),
    "on_after_batch_transfer": ("batch", "dataloader_idx"),
    "transfer_batch_to_device": ("batch", "device", "dataloader_idx"),
    "configure_gradient_clipping": ("optimizer", "gradient_clip_val", "gradient_clip_algorithm"),
    "optimizer_step": ("epoch", "batch_idx", "optimizer", "optimizer_closure"),
    "optimizer_zero_grad": ("epoch", "batch_idx", "optimizer"),
    "lr_scheduler_step": ("scheduler", "metric"),
    "backward": ("loss",),
}

_RETURNS = {"on_before_batch_transfer", "on_after_batch_transfer", "transfer_batch_to_device"}


def _light_arg(name: str, value: Any) -> Any:
    if name in ("batch", "outputs"):
        return shape_of(value)
    if name == "checkpoint":
        return sorted(value)
    if name == "optimizer":
        return type(value).__name__
    if name == "optimizer_closure":
        return None if value is None else "callable"
    if name == "scheduler":
        return type(value).__name__
    if name == "loss":
        return light(value.detach()) if isinstance(value, torch.Tensor) else light(value)
    if name == "device":
        return str(value)
    return light(value)


def _wrap_module_hook(name: str, params: tuple[str, ...]) -> Callable[..., Any]:
    def hook(self: Any, *args: Any, **kwargs: Any) -> Any:
        named = dict(zip(params, args))
        named.update(kwargs)
        T.hook(self._compat_label, name, **{k: _light_arg(k, v) for k, v in named.items()})
        return getattr(super(self._compat_base, self), name)(*args, **kwargs)

    hook.__name__ = name
    # Keep the hook's real signature, so that signature-based dispatch sees the usual one.
    return hook


def recorded(cls: type, label: str = "model", skip: tuple[str, ...] = ()) -> type:
    """A subclass of ``cls`` whose hooks are recorded before running ``cls``'s own.

    Hooks that ``cls`` does not define (so that their base-class default would run) are recorded
    too: the trace shows every hook the framework calls.
    """
    ns: dict[str, Any] = {"_compat_label": label}
    hooks = dict(MODULE_HOOKS)
    if not issubclass(cls, pl.LightningModule):
        hooks = {
            k: v
            for k, v in hooks.items()
            if k
            in (
                "prepare_data",
                "setup",
                "teardown",
                "on_before_batch_transfer",
                "on_after_batch_transfer",
                "transfer_batch_to_device",
            )
        }
    for name, params in hooks.items():
        if name in skip or not hasattr(cls, name):
            continue
        wrapper = _wrap_module_hook(name, params)
        try:
            wrapper.__signature__ = inspect.signature(getattr(cls, name))  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            pass
        ns[name] = wrapper
    for name in ("train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader"):
        if name in skip:
            continue
        own = getattr(cls, name, None)
        if own is None:
            continue
        if issubclass(cls, pl.LightningModule) and own is getattr(pl.LightningModule, name, None):
            continue
        if not issubclass(cls, pl.LightningModule) and own is getattr(
            pl.LightningDataModule, name, None
        ):
            continue
        ns[name] = _wrap_module_hook(name, ())
    new = type(cls.__name__, (cls,), ns)
    new._compat_base = new  # type: ignore[attr-defined]
    new.__module__ = cls.__module__
    new.__qualname__ = cls.__qualname__
    return new


# -- loggers ------------------------------------------------------------------------------------


def _patch_logger_class(cls: type) -> None:
    orig_metrics = cls.log_metrics
    orig_hparams = cls.log_hyperparams

    def log_metrics(self: Any, metrics: Any, step: Any = None) -> Any:
        T.data["logger_calls"].append(
            [type(self).__name__, "log_metrics", light(step), _metrics(metrics)]
        )
        return orig_metrics(self, metrics, step)

    def log_hyperparams(self: Any, params: Any, *args: Any, **kwargs: Any) -> Any:
        value = params if isinstance(params, Mapping) else vars(params)
        extra = [light(a) for a in args] + [light(v) for v in kwargs.values()]
        T.data["logger_calls"].append(
            [type(self).__name__, "log_hyperparams", light(dict(value)), extra]
        )
        return orig_hparams(self, params, *args, **kwargs)

    cls.log_metrics = log_metrics  # type: ignore[method-assign]
    cls.log_hyperparams = log_hyperparams  # type: ignore[method-assign]


# -- warnings -----------------------------------------------------------------------------------


def gist(text: str) -> str:
    """A message with what varies between runs and packages normalised."""
    text = str(text).replace(str(_CWD), "<tmp>")
    text = re.sub(
        r"\b(pytorch_lightning|lightning\.pytorch|lightning_fabric|plkit|plcore|placcel|pllog)\b",
        "<pkg>",
        text,
    )
    text = re.sub(r"0x[0-9a-f]+", "0x?", text)
    return text.strip()


_TORCH_DIR = str(Path(torch.__file__).parent)
# The installed code of the implementation under test (its own package and its siblings).
_FRAMEWORK_DIRS = tuple(
    str(Path(importlib.import_module(name).__file__).parent)  # type: ignore[arg-type]
    for name in (
        ("pytorch_lightning", "lightning_fabric")
        if IMPL == "lightning"
        else ("plkit", "plcore", "placcel", "pllog")
    )
)


def _issuer_file() -> str:
    """The file of the code that called ``warnings.warn`` (whatever its ``stacklevel`` names)."""
    frame = inspect.currentframe()
    while frame is not None and (
        frame.f_code.co_filename == __file__
        or frame.f_globals.get("__name__") in ("warnings", "_py_warnings")
    ):
        frame = frame.f_back
    return frame.f_code.co_filename if frame is not None else ""


def _showwarning(
    message: Any, category: type, filename: str, lineno: int, *a: Any, **k: Any
) -> None:
    if issubclass(category, (DeprecationWarning, FutureWarning)) and (
        filename.startswith(_TORCH_DIR)
        or filename.startswith(_FRAMEWORK_DIRS)
        or _issuer_file().startswith(_TORCH_DIR)
    ):
        # torch's own deprecation notes about how a framework calls it (issued in torch, or
        # naming a line of the framework's own code): not about the user's code
        return
    entry = [category.__name__, gist(str(message))]
    if entry not in T.data["warnings"]:
        T.data["warnings"].append(entry)


def install_patches() -> None:
    """Patch the loggers' writing methods, tqdm's display and the warning machinery."""
    loggers = imp("loggers")
    for name in ("TensorBoardLogger", "CSVLogger"):
        cls = getattr(loggers, name, None)
        if cls is not None:
            _patch_logger_class(cls)

    import tqdm.std

    def display(self: Any, msg: Any = None, pos: Any = None) -> bool:
        T.bar_display(self)
        return True

    tqdm.std.tqdm.display = display  # type: ignore[method-assign]
    # What tqdm.write's clearing of the bars writes (cursor moves, blanks) follows the order of a
    # WeakSet of bars, which varies from run to run: cosmetic, and not the framework's doing.
    tqdm.std.tqdm.clear = lambda self, nolock=False: None  # type: ignore[method-assign]

    warnings.simplefilter("always")
    warnings.showwarning = _showwarning


def note_cli_config(prefix: str, text: str) -> None:
    """Note a LightningCLI config (``--print_config`` output, a saved ``config.yaml``), one note
    per top-level key (``<prefix>.trainer``...), package names normalised and the
    ``# <package>==<version>`` header left out."""
    import yaml

    body = "\n".join(line for line in text.splitlines() if not re.fullmatch(r"# \S+==\S+", line))
    T.note(f"{prefix}.keys", list(yaml.safe_load(gist(body)) or {}))
    for key, value in (yaml.safe_load(gist(body)) or {}).items():
        T.note(f"{prefix}.{key}", value)


@contextmanager
def expect_exit() -> Iterator[None]:
    """Record a ``SystemExit`` (as Ctrl+C handling may raise) without ending the scenario."""
    try:
        yield
    except SystemExit as exc:
        T.note("system_exit", exc.code)


__all__ = ["CALLBACK_HOOKS", "IMPL", "T", "RecordingCallback", "imp", "light", "pl", "recorded"]
