"""Construction-time work of the Trainer: loggers, default callbacks, argument checks.

Each function validates where the value is used and names the argument and the fix.
"""

from __future__ import annotations

import difflib
import os
import warnings
from typing import Any

import torch

from plcore import Callback, LightningDataModule, LightningModule
from plcore.hooks import HOOKS, is_overridden

__all__ = [
    "apply_determinism",
    "build_callbacks",
    "build_loggers",
    "check_fit_arguments",
    "check_model",
    "check_unsupported",
]

_DATA_HOOKS = ("train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader")
_KNOWN_HOOKS = tuple(sorted({h.name for h in HOOKS} | set(_DATA_HOOKS)))


def attach_log_handler() -> None:
    """Show plkit's INFO messages (model summary, checkpoint and early-stopping notes) on stdout.

    Done when a Trainer is built, never at import; a handler the user configured is respected.
    """
    import logging
    import sys

    log = logging.getLogger("plkit")
    if log.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def check_types(default_root_dir: Any, sync_batchnorm: Any) -> None:
    if default_root_dir is not None and not isinstance(default_root_dir, (str, os.PathLike)):
        raise TypeError(
            f"Trainer(default_root_dir={default_root_dir!r}) must be a path (str or "
            "os.PathLike), or None for the working directory."
        )
    if not isinstance(sync_batchnorm, bool):
        raise TypeError(f"Trainer(sync_batchnorm={sync_batchnorm!r}) must be True or False.")


def check_unsupported(profiler: Any, plugins: Any, resume: Any) -> None:
    if profiler is not None:
        raise ValueError(
            f"Trainer(profiler={profiler!r}) is not supported yet; remove the argument "
            "(use torch.profiler around trainer.fit instead)."
        )
    if plugins is not None:
        raise ValueError(
            f"Trainer(plugins={plugins!r}) is not supported; pass precision=... or a "
            "placcel Strategy instance instead."
        )
    if resume not in (None, "auto"):
        raise ValueError(
            f"Trainer(resume={resume!r}) is invalid; use None or 'auto' (resume from "
            "the newest checkpoint under default_root_dir)."
        )


def apply_determinism(deterministic: bool | str | None, benchmark: bool | None) -> None:
    """torch's switches for reproducible kernels (set once, at construction, like Lightning)."""
    if deterministic is not None:
        import os

        torch.use_deterministic_algorithms(bool(deterministic), warn_only=deterministic == "warn")
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    cudnn = torch.backends.cudnn
    if deterministic:
        cudnn.deterministic = True
    if benchmark is not None:
        if benchmark and deterministic:
            warnings.warn(
                "benchmark=True and deterministic=True: cudnn.benchmark may pick "
                "non-deterministic kernels.",
                stacklevel=3,
            )
        cudnn.benchmark = bool(benchmark)
    elif deterministic:
        cudnn.benchmark = False


def build_loggers(logger: Any, plan: Any, root: str) -> list[Any]:
    """``True`` / ``None`` → a TensorBoardLogger (CSVLogger without tensorboard); ``False`` → none."""
    if not plan.logger_enabled:
        return []
    if logger is None or logger is True:
        import pllog

        try:
            import tensorboard  # noqa: F401
        except ImportError:
            warnings.warn(
                "tensorboard is not installed: logging to CSV (metrics.csv) instead. "
                "`pip install tensorboard` for TensorBoard logs.",
                stacklevel=3,
            )
            return [pllog.CSVLogger(save_dir=root)]
        return [pllog.TensorBoardLogger(save_dir=root)]
    loggers = list(logger) if isinstance(logger, (list, tuple)) else [logger]
    for item in loggers:
        if isinstance(item, type) or not hasattr(item, "log_metrics"):
            what = f"the class {item.__name__}" if isinstance(item, type) else type(item).__name__
            raise TypeError(
                f"Trainer(logger=...) got {what}; pass a logger instance such as "
                "TensorBoardLogger(save_dir='logs'), a list of them, True or False."
            )
    return loggers


def _as_callback_list(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    items = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    for item in items:
        if isinstance(item, type):
            raise TypeError(
                f"Trainer(callbacks=...) got the class {item.__name__}, not an instance; "
                f"write callbacks=[{item.__name__}()]."
            )
        if not isinstance(item, Callback):
            raise TypeError(
                f"Trainer(callbacks=...) got {type(item).__name__}; callbacks must "
                "subclass plkit.Callback (or plcore.Callback)."
            )
    return items


def build_callbacks(callbacks: Any, plan: Any) -> list[Callback]:
    """The user's callbacks plus the defaults the flags ask for; checkpoint callbacks go last."""
    from plkit import callbacks as builtin

    items = _as_callback_list(callbacks)
    has = lambda cls: any(isinstance(cb, cls) for cb in items)  # noqa: E731
    if has(builtin.ModelCheckpoint) and not plan.enable_checkpointing and not plan.fast_dev_run:
        raise ValueError(
            "Trainer(enable_checkpointing=False) but a ModelCheckpoint is in callbacks; "
            "remove one of the two."
        )
    if has(builtin.ProgressBar) and not plan.enable_progress_bar:
        raise ValueError(
            "Trainer(enable_progress_bar=False) but a progress bar is in callbacks; "
            "remove one of the two."
        )
    if plan.fast_dev_run:
        items = [
            cb
            for cb in items
            if not isinstance(cb, (builtin.ModelCheckpoint, builtin.EarlyStopping))
        ]
    if plan.enable_progress_bar and not has(builtin.ProgressBar):
        items.append(builtin.TQDMProgressBar())
    if plan.enable_model_summary and not has(builtin.ModelSummary):
        items.append(builtin.ModelSummary())
    if plan.enable_checkpointing and not has(builtin.ModelCheckpoint):
        items.append(builtin.ModelCheckpoint())
    return order_callbacks(items)


def order_callbacks(items: list[Callback]) -> list[Callback]:
    from plkit.callbacks import ModelCheckpoint

    return [cb for cb in items if not isinstance(cb, ModelCheckpoint)] + [
        cb for cb in items if isinstance(cb, ModelCheckpoint)
    ]


def merge_configured_callbacks(existing: list[Callback], model: LightningModule) -> list[Callback]:
    """``configure_callbacks`` results replace the Trainer's callbacks of the same type."""
    extra = _as_callback_list(model.configure_callbacks())
    if not extra:
        return existing
    types = {type(cb) for cb in extra}
    kept = [cb for cb in existing if type(cb) not in types]
    return order_callbacks(kept + extra)


def check_fit_arguments(model: Any, train_dataloaders: Any, datamodule: Any) -> None:
    if train_dataloaders is not None and datamodule is not None:
        raise ValueError("fit() got both train_dataloaders and datamodule; pass one of them.")


def _misspelt(obj: Any, base: type) -> list[tuple[str, str]]:
    found = []
    for cls in type(obj).__mro__:
        if cls is base:  # the user's classes come before the base in the MRO
            break
        for name, value in vars(cls).items():
            if (
                name.startswith("_")
                or not callable(value)
                or hasattr(base, name)
                or name in _KNOWN_HOOKS
            ):
                continue
            match = difflib.get_close_matches(name, _KNOWN_HOOKS, n=1, cutoff=0.85)
            if match:
                found.append((name, match[0]))
    return found


def check_hook_names(obj: Any, base: type, what: str) -> None:
    """A method that looks like a misspelt hook (``configure_optimizer``) is an error, or a
    warning when the correctly spelt hook exists too."""
    for wrong, right in _misspelt(obj, base):
        defined = is_overridden(obj, right, base) if hasattr(base, right) else hasattr(obj, right)
        message = (
            f"{type(obj).__name__}.{wrong} looks like a misspelling of the {what} hook `{right}`"
        )
        if defined:
            warnings.warn(
                message + f", which is defined too; `{wrong}` is never called.",
                UserWarning,
                stacklevel=4,
            )
        else:
            raise AttributeError(
                message + f"; the Trainer never calls `{wrong}`. Rename it to `{right}`."
            )


def check_model(trainer: Any, fn: Any, model: Any, datamodule: Any) -> LightningModule:
    """The model a run uses, validated for the entry point."""
    name = str(fn)
    if model is None:
        if trainer.lightning_module is None:
            raise ValueError(f"trainer.{name}() needs a model: call trainer.{name}(model, ...).")
        model = trainer.lightning_module
    if not isinstance(model, LightningModule):
        raise TypeError(
            f"trainer.{name}() expects a LightningModule, got {type(model).__name__}. "
            "Subclass plkit.LightningModule instead of torch.nn.Module."
        )
    if datamodule is not None and not isinstance(datamodule, LightningDataModule):
        raise TypeError(
            f"trainer.{name}(datamodule=...) expects a LightningDataModule, got "
            f"{type(datamodule).__name__}."
        )
    check_hook_names(model, LightningModule, "LightningModule")
    if datamodule is not None:
        check_hook_names(datamodule, LightningDataModule, "LightningDataModule")
    if name == "fit":
        for hook in ("training_step", "configure_optimizers"):
            if not is_overridden(model, hook, LightningModule):
                raise NotImplementedError(
                    f"{type(model).__name__} has no `{hook}`; Trainer.fit needs it. "
                    + (
                        "Define training_step(self, batch, batch_idx) returning the loss."
                        if hook == "training_step"
                        else "Define configure_optimizers(self) returning an optimizer."
                    )
                )
    step = {"validate": "validation_step", "test": "test_step"}.get(name)
    if step and not is_overridden(model, step, LightningModule):
        raise NotImplementedError(f"trainer.{name}() needs `{step}` on {type(model).__name__}.")
    return model
