"""Construction-time work of the Trainer: loggers, default callbacks, argument checks.

Each function validates where the value is used and names the argument and the fix.
"""

from __future__ import annotations

import difflib
import os
import warnings
from typing import TYPE_CHECKING, Any

import torch

from placcel import ConfigurationError, MixedPrecision, Precision, build_strategy
from plcore import Callback, LightningDataModule, LightningModule
from plcore.checkpoint import CheckpointIO
from plcore.hooks import HOOKS, REMOVED_HOOKS, is_overridden
from plcore.utilities.exceptions import MisconfigurationException

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = [
    "apply_determinism",
    "build_callbacks",
    "build_loggers",
    "check_data_arguments",
    "check_model",
    "check_unsupported",
    "explain_torch_error",
]

_DATA_HOOKS = ("train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader")
_KNOWN_HOOKS = tuple(sorted({h.name for h in HOOKS} | set(_DATA_HOOKS)))


def attach_log_handler() -> None:
    """Show the INFO messages of plkit, plcore and pllog (device lines, model summary, stop
    reasons, checkpoint and early-stopping notes, MLflow experiment creation) on stderr, as
    Lightning does.

    Done at ``import plkit`` (as Lightning does at its import) and again when a Trainer is built;
    a handler the user configured is respected.
    """
    import logging
    import sys

    if logging.getLogger().handlers:
        return
    for name in ("plkit", "plcore", "placcel", "pllog"):
        log = logging.getLogger(name)
        if log.handlers:
            continue
        handler = logging.StreamHandler(sys.stderr)
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


def check_unsupported(resume: Any) -> None:
    if resume not in (None, "auto"):
        raise ValueError(
            f"Trainer(resume={resume!r}) is invalid; use None or 'auto' (resume from "
            "the newest checkpoint under default_root_dir)."
        )


def apply_determinism(deterministic: bool | str | None, benchmark: bool | None) -> None:
    """torch's switches for reproducible kernels (set once, at construction, like Lightning)."""
    # cudnn.deterministic is left alone, as Lightning does: use_deterministic_algorithms(True)
    # already makes cuDNN pick deterministic kernels.
    from plcore.utilities.rank_zero import rank_zero_warn

    if deterministic:
        if benchmark is None:
            benchmark = False
        elif benchmark:
            rank_zero_warn(
                "You passed `deterministic=True` and `benchmark=True`. Note that PyTorch ignores"
                " torch.backends.cudnn.deterministic=True when"
                " torch.backends.cudnn.benchmark=True.",
            )
    if benchmark is not None:
        torch.backends.cudnn.benchmark = bool(benchmark)
    if deterministic is not None:
        torch.use_deterministic_algorithms(bool(deterministic), warn_only=deterministic == "warn")
    if deterministic:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"


def build_loggers(logger: Any, plan: Any, root: str) -> list[Any]:
    """``True`` / ``None`` → a TensorBoardLogger (CSVLogger without tensorboard); ``False`` → none.

    Under ``fast_dev_run`` any logging becomes one ``DummyLogger``, which writes nothing.
    """
    if not plan.logger_enabled:
        return []
    if plan.fast_dev_run:
        import pllog

        return [pllog.DummyLogger()]
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


def split_plugins(plugins: Any) -> tuple[Precision | None, Any]:
    """``Trainer(plugins=...)``: a Precision and a checkpoint IO (one plugin or a list of them).

    Returns the precision (None: the ``precision`` flag decides) and the checkpoint IO (None: the
    default). Any other kind of plugin raises ``MisconfigurationException``, as under Lightning.
    """
    if plugins is None:
        return None, None
    items = list(plugins) if isinstance(plugins, (list, tuple, str)) else [plugins]
    precision: Precision | None = None
    checkpoint_io: Any = None
    for plugin in items:
        if isinstance(plugin, Precision):
            precision = plugin
        elif isinstance(plugin, CheckpointIO):
            checkpoint_io = plugin
        else:
            raise MisconfigurationException(
                f"Trainer(plugins=...) got {plugin!r} ({type(plugin).__name__}); a plugin must be "
                "a precision plugin or a CheckpointIO (plkit.plugins). Pass cluster environments in the "
                "strategy: strategy=DDPStrategy(cluster_environment=...)."
            )
    return precision, checkpoint_io


def strategy_from_flags(**flags: Any) -> Any:
    """placcel's ``build_strategy``; its ``ConfigurationError`` becomes Lightning's class.

    This is the one place placcel's configuration errors reach the user: placcel cannot depend
    on plcore, so the translation to ``MisconfigurationException`` happens here.
    """
    try:
        strategy = build_strategy(**flags)
    except ConfigurationError as exc:
        raise MisconfigurationException(str(exc)) from exc
    precision = strategy.precision
    if isinstance(precision, MixedPrecision) and not isinstance(flags.get("precision"), Precision):
        bits = "16bit" if precision.precision == "16-mixed" else "bfloat16"
        from plkit._console import info

        info(f"Using {bits} Automatic Mixed Precision (AMP)")
    return strategy


def build_callbacks(callbacks: Any, plan: Any) -> list[Callback]:
    """The user's callbacks plus the defaults the flags ask for; checkpoint callbacks go last."""
    from plkit import callbacks as builtin

    items = _as_callback_list(callbacks)
    has = lambda cls: any(isinstance(cb, cls) for cb in items)  # noqa: E731
    if has(builtin.Checkpoint) and not plan.enable_checkpointing:
        raise MisconfigurationException(
            "Trainer(enable_checkpointing=False) but a ModelCheckpoint is in callbacks; "
            "remove one of the two."
        )
    if has(builtin.ProgressBar) and not plan.enable_progress_bar:
        raise MisconfigurationException(
            "Trainer(enable_progress_bar=False) but a progress bar is in callbacks; "
            "remove one of the two."
        )
    from plkit._console import info, rich_installed

    if plan.max_time is not None:  # Lightning: a Timer in the callbacks enforces max_time
        if has(builtin.Timer):
            info("Ignoring `Trainer(max_time=...)`, callbacks list already contains a Timer.")
        else:
            items.append(builtin.Timer(duration=plan.max_time, interval="step"))
    rich = rich_installed()  # Lightning's defaults are rich's bar and table then
    if plan.enable_progress_bar and not has(builtin.ProgressBar):
        items.append(builtin.RichProgressBar() if rich else builtin.TQDMProgressBar())
    if plan.enable_model_summary and not has(builtin.ModelSummary):
        items.append(builtin.RichModelSummary() if rich else builtin.ModelSummary())
    if plan.enable_checkpointing and not has(builtin.Checkpoint):
        items.append(builtin.ModelCheckpoint())
    check_unique_state_keys(items)
    return order_callbacks(items)


def check_unique_state_keys(items: list[Callback]) -> None:
    """Two stateful callbacks with one ``state_key`` would overwrite each other's saved state."""
    seen: set[str] = set()
    for cb in items:
        if not is_overridden(cb, "state_dict", Callback):
            continue
        if cb.state_key in seen:
            raise RuntimeError(
                f"Found more than one stateful callback of type `{type(cb).__name__}` with the"
                f" state key {cb.state_key!r}: their states would overwrite each other in a"
                " checkpoint. Give them different settings (e.g. `monitor`, `mode`,"
                " `every_n_train_steps`), or override `state_key` in a subclass."
            )
        seen.add(cb.state_key)


def order_callbacks(items: list[Callback]) -> list[Callback]:
    from plkit.callbacks import Checkpoint

    return [cb for cb in items if not isinstance(cb, Checkpoint)] + [
        cb for cb in items if isinstance(cb, Checkpoint)
    ]


def merge_configured_callbacks(existing: list[Callback], model: LightningModule) -> list[Callback]:
    """``configure_callbacks`` results replace the Trainer's callbacks of the same type."""
    extra = _as_callback_list(model.configure_callbacks())
    if not extra:
        return existing
    types = {type(cb) for cb in extra}
    kept = [cb for cb in existing if type(cb) not in types]
    return order_callbacks(kept + extra)


def check_data_arguments(args: Any) -> None:
    """Loaders given together with a datamodule (``EntryArgs``): Lightning's error."""
    loaders = (args.train, args.val, args.test, args.predict)
    if args.datamodule is None or all(given is None for given in loaders):
        return
    name = args.fn.value
    if name == "fit":
        raise MisconfigurationException(
            "You cannot pass `train_dataloader` or `val_dataloaders` to"
            " `trainer.fit(datamodule=...)`"
        )
    raise MisconfigurationException(
        f"You cannot pass both `trainer.{name}(dataloaders=..., datamodule=...)`"
    )


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
                or name in REMOVED_HOOKS  # refused by the run with Lightning's error
            ):
                continue
            match = difflib.get_close_matches(name, _KNOWN_HOOKS, n=1, cutoff=0.85)
            if match:
                found.append((name, match[0]))
    return found


def check_hook_names(obj: Any, base: type, what: str) -> None:
    """Warn about each method that looks like a misspelt hook (``configure_optimizer``): the
    Trainer never calls it. Lightning ignores such methods, so this is a warning, never an error;
    where the real hook is required and missing, the run's error names the method too
    (:func:`did_you_mean`)."""
    for wrong, right in _misspelt(obj, base):
        defined = is_overridden(obj, right, base) if hasattr(base, right) else hasattr(obj, right)
        warnings.warn(
            f"{type(obj).__name__}.{wrong} looks like a misspelling of the {what} hook `{right}`;"
            f" the Trainer never calls `{wrong}`. "
            + (f"`{right}` is defined too." if defined else f"Rename it to `{right}`."),
            UserWarning,
            stacklevel=5,  # the user's trainer.fit(...) line
        )


def did_you_mean(obj: Any, base: type, hook: str) -> str:
    """`` Did you mean ...?`` naming the methods of ``obj`` that look like a misspelt ``hook``
    (for the error raised when ``hook`` is missing), or ``""``."""
    names = [wrong for wrong, right in _misspelt(obj, base) if right == hook]
    if not names:
        return ""
    listed = ", ".join(f"`{type(obj).__name__}.{name}`" for name in names)
    return f" Did you mean {listed}? Rename it to `{hook}`."


# Torch's message for a common slip in the user's code -> what to change (added as a note, so the
# exception keeps torch's class and message, as under Lightning).
_TORCH_ERROR_FIXES = (
    (
        "'method' object is not iterable",
        "If an optimizer got `self.parameters` (the method), call it: "
        "`torch.optim.Adam(self.parameters(), lr=1e-3)` in configure_optimizers.",
    ),
    (
        "grad can be implicitly created only for scalar outputs",
        "The loss that training_step returned has more than one value (one per sample?). "
        "Reduce it to a scalar before returning it, e.g. `return loss.mean()`, or use a loss "
        "function with reduction='mean'.",
    ),
    (
        "does not require grad and does not have a grad_fn",
        "The loss that training_step returned has no gradient: it was detached (`.item()`, "
        "`.detach()`, `torch.tensor(...)`), computed under `torch.no_grad()` / "
        "`torch.inference_mode()`, or not computed from the model's parameters (are they "
        "frozen with requires_grad=False?). Return the loss tensor computed from the model's "
        "output.",
    ),
)


def explain_torch_error(err: BaseException) -> None:
    """Add a note naming the fix to torch's error for a known slip in the user's code (the
    optimizer given ``self.parameters``, a loss that is no scalar or has no gradient).

    Called once, when a run fails; the class and message stay torch's, as in Lightning.
    """
    if not isinstance(err, (TypeError, RuntimeError)) or not hasattr(err, "add_note"):
        return  # add_note: Python >= 3.11
    message = str(err)
    for text, fix in _TORCH_ERROR_FIXES:
        if text in message and fix not in getattr(err, "__notes__", ()):
            err.add_note(fix)


_COMPILED_METHODS = ("forward", "training_step", "validation_step", "test_step", "predict_step")


def _from_compiled(model: Any) -> Any:
    """``torch.compile(module)``: the LightningModule inside, its forward and steps compiled.

    ``torch.compile`` returns a wrapper that is no LightningModule; as under Lightning, the run
    uses the module itself with ``forward`` and the step methods compiled by the wrapper's
    compiler, so the hooks and ``trainer.lightning_module`` are the user's module. Anything else
    comes back as it is.
    """
    compiled_type = getattr(getattr(torch, "_dynamo", None), "OptimizedModule", None)
    if compiled_type is None or not isinstance(model, compiled_type):
        return model
    inner = model._orig_mod
    if not isinstance(inner, LightningModule):
        return model
    compile_fn = model.dynamo_ctx
    for name in _COMPILED_METHODS:
        setattr(inner, name, compile_fn(getattr(inner, name)))
    return inner


def check_model(trainer: Trainer, fn: Any, model: Any, datamodule: Any) -> LightningModule:
    """The model a run uses, validated for the entry point."""
    name = getattr(fn, "value", fn)
    if model is None and name != "fit":  # fit always needs one; the others reuse fit's
        if trainer.lightning_module is None:
            raise TypeError(
                f"`Trainer.{name}()` requires a `LightningModule` when it hasn't been passed in a"
                " previous run"
            )
        model = trainer.lightning_module
    model = _from_compiled(model)
    if not isinstance(model, LightningModule):
        raise TypeError(
            "`model` must be a `LightningModule` or `torch._dynamo.OptimizedModule`, got"
            f" `{type(model).__qualname__}`"
        )
    if datamodule is not None and not isinstance(datamodule, LightningDataModule):
        raise TypeError(
            f"trainer.{name}(datamodule=...) expects a LightningDataModule, got "
            f"{type(datamodule).__name__}."
        )
    check_hook_names(model, LightningModule, "LightningModule")
    if datamodule is not None:
        check_hook_names(datamodule, LightningDataModule, "LightningDataModule")
    for callback in trainer.callbacks:
        check_hook_names(callback, Callback, "Callback")
    return model


def check_loop_configuration(model: LightningModule, fn: Any) -> None:
    """The step methods an entry point needs; checked once the run has started (an error here
    calls ``on_exception`` and leaves the trainer interrupted, as in Lightning)."""
    name = getattr(fn, "value", fn)
    if name == "fit":
        for hook in ("training_step", "configure_optimizers"):
            if not is_overridden(model, hook, LightningModule):
                raise MisconfigurationException(
                    f"No `{hook}()` method defined. Lightning `Trainer` expects as minimum a"
                    " `training_step()`, `train_dataloader()` and `configure_optimizers()` to be"
                    " defined." + did_you_mean(model, LightningModule, hook)
                )
    step = {"validate": "validation_step", "test": "test_step"}.get(name)
    if step and not is_overridden(model, step, LightningModule):
        raise MisconfigurationException(
            f"No `{step}()` method defined to run `Trainer.{name}`."
            + did_you_mean(model, LightningModule, step)
        )
    if (
        name == "predict"
        and not is_overridden(model, "predict_step", LightningModule)
        and not is_overridden(model, "forward", LightningModule)
    ):
        raise MisconfigurationException("`Trainer.predict` requires `forward` method to run.")


def resolve_fit_limits(plan: Any, callbacks: list[Callback]) -> Any:
    """The plan with fit's epoch limits filled in; warns when ``max_epochs`` defaults to 1000."""
    from plcore.utilities.rank_zero import rank_zero_warn
    from plcore.utilities.warnings import PossibleUserWarning
    from plkit._flags import fit_limits
    from plkit.callbacks import Timer

    timed = plan.max_time is not None or any(isinstance(cb, Timer) for cb in callbacks)
    plan, defaulted = fit_limits(plan, has_timer=timed)
    if defaulted:
        rank_zero_warn(
            "`max_epochs` was not set. Setting it to 1000 epochs. To train without an epoch"
            " limit, set `max_epochs=-1`.",
            category=PossibleUserWarning,
        )
    return plan


_BAREBONES_OFF = (
    " - Checkpointing: `Trainer(enable_checkpointing=True)`",
    " - Progress bar: `Trainer(enable_progress_bar=True)`",
    " - Model summary: `Trainer(enable_model_summary=True)`",
    " - Logging: `Trainer(logger=True)`, `Trainer(log_every_n_steps>0)`,"
    " `LightningModule.log(...)`, `LightningModule.log_dict(...)`",
    " - Sanity checking: `Trainer(num_sanity_val_steps>0)`",
    " - Development run: `Trainer(fast_dev_run=True)`",
    " - Anomaly detection: `Trainer(detect_anomaly=True)`",
    " - Profiling: `Trainer(profiler=...)`",
)


def announce_barebones() -> None:
    """Say what ``barebones=True`` turns off (Lightning's message, when the Trainer is built)."""
    from plkit._console import info

    info(
        "You are running in `Trainer(barebones=True)` mode. All features that may impact raw"
        " speed have been disabled to facilitate analyzing the Trainer overhead. Specifically,"
        f" the following features are deactivated:{os.linesep}{os.linesep.join(_BAREBONES_OFF)}"
    )
