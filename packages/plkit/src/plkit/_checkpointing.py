"""What goes into a checkpoint and how a run is restored from one.

The layout is Lightning 2.x's (``epoch``, ``global_step``, ``state_dict``, ``optimizer_states``,
``lr_schedulers``, ``loops``, ``callbacks``, ``hyper_parameters``, ...), plus ``plkit_version``.
``loops`` holds what an *exact* resume needs: the position inside the epoch, the RNG states at
the start of the epoch (they decide a shuffled loader's order) and now, and gradients
accumulated inside an unfinished accumulation window. Everything is tensors and plain types, so
the file loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import torch

from plcore.checkpoint import CHECKPOINT_VERSION_KEY, CheckpointError, check_plain
from plcore.utilities.seed import collect_rng_states
from plkit.__about__ import __version__

__all__ = [
    "dump_checkpoint",
    "restore_model_and_callbacks",
    "restore_training_state",
    "resolve_ckpt_path",
]

#: The Lightning checkpoint format this layout follows (tools that read Lightning files check it).
LIGHTNING_FORMAT_VERSION = "2.5.0"


def _loop_state(trainer: Any) -> dict[str, Any]:
    p = trainer._progress
    # Inside on_train_epoch_end the epoch is done but not yet counted: resume at the next one.
    # Anywhere else (mid-epoch, between epochs, after fit, during test) resume where we are.
    in_epoch = not p.epoch_finished
    state: dict[str, Any] = {
        "epoch": p.epoch + (0 if in_epoch else 1),
        "batch": p.batches_done if in_epoch else 0,
        "global_step": p.global_step,
        "batches_that_stepped": p.batches_that_stepped,
        "total_batch_idx": p.total_batch_idx,
        # inside a fit-time validation, the state training will continue from is the one saved
        # when validation began (it is restored when validation ends)
        "rng_states": trainer._rng_at_eval_start or collect_rng_states(),
        "epoch_rng_state": p.epoch_rng if in_epoch else None,
    }
    if (
        in_epoch
        and trainer._plan.accumulate_grad_batches > 1
        and p.batches_done % trainer._plan.accumulate_grad_batches
    ):
        state["accumulated_grads"] = [
            None if param.grad is None else param.grad.detach().clone()
            for param in trainer.lightning_module.parameters()
        ]
    return {"fit_loop": state}


def dump_checkpoint(trainer: Any, weights_only: bool) -> dict[str, Any]:
    """Build the checkpoint dict, calling the save hooks in Lightning's order."""
    model, dm = trainer.lightning_module, trainer.datamodule
    checkpoint: dict[str, Any] = {
        "epoch": trainer.current_epoch,
        "global_step": trainer.global_step,
        "pytorch-lightning_version": LIGHTNING_FORMAT_VERSION,
        CHECKPOINT_VERSION_KEY: __version__,
        "state_dict": model.state_dict(),
        "loops": _loop_state(trainer),
    }
    if not weights_only:
        checkpoint["callbacks"] = {}
        for cb in trainer.callbacks:
            state = cb.state_dict()
            if state:
                checkpoint["callbacks"][cb.state_key] = state
        checkpoint["optimizer_states"] = [opt.state_dict() for opt in trainer.optimizers]
        checkpoint["lr_schedulers"] = [
            c.scheduler.state_dict() for c in trainer.lr_scheduler_configs
        ]
        precision_state = trainer.strategy.precision_state_dict()
        if precision_state:
            checkpoint[type(trainer.strategy.precision).__qualname__] = precision_state
    _add_hparams(checkpoint, model, "")
    if dm is not None:
        _add_hparams(checkpoint, dm, "datamodule_")
        dm_state = dm.state_dict()
        if dm_state:
            checkpoint[type(dm).__qualname__] = dm_state
    if not weights_only:
        trainer._calls.callbacks("on_save_checkpoint", checkpoint)
    trainer._calls.module("on_save_checkpoint", checkpoint)
    if dm is not None:
        dm.on_save_checkpoint(checkpoint)
    check_plain(checkpoint)
    return checkpoint


def _add_hparams(checkpoint: dict[str, Any], obj: Any, prefix: str) -> None:
    hparams = getattr(obj, "_hparams", None)
    if hparams is None:
        return
    checkpoint[f"{prefix}hparams_name"] = getattr(obj, "_hparams_name", None)
    checkpoint[f"{prefix}hyper_parameters"] = dict(hparams)


def restore_model_and_callbacks(trainer: Any, checkpoint: dict[str, Any]) -> None:
    """Weights, datamodule and callback state (before ``configure_optimizers``)."""
    model, dm = trainer.lightning_module, trainer.datamodule
    if "state_dict" not in checkpoint:
        raise CheckpointError(
            f"{trainer.ckpt_path} has no 'state_dict': it is not a plkit or Lightning checkpoint "
            "(a bare model.state_dict() file? load that with model.load_state_dict(torch.load(...)))."
        )
    trainer._calls.module("on_load_checkpoint", checkpoint)
    _load_weights(model, checkpoint["state_dict"])
    if dm is not None:
        dm.on_load_checkpoint(checkpoint)
        if type(dm).__qualname__ in checkpoint:
            dm.load_state_dict(checkpoint[type(dm).__qualname__])
    trainer._calls.callbacks("on_load_checkpoint", checkpoint)
    states = checkpoint.get("callbacks") or {}
    for cb in trainer.callbacks:
        state = states.get(cb.state_key)
        if state is None:
            state = states.get(type(cb).__qualname__)  # older or simpler keys
        if state is not None:
            cb.load_state_dict(state)


def _load_weights(model: torch.nn.Module, state_dict: dict[str, Any]) -> None:
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    if missing or unexpected:
        raise RuntimeError(
            f"The checkpoint's weights do not fit {type(model).__name__}. Missing keys: "
            f"{list(missing)}; unexpected keys: {list(unexpected)}. Check that the model is built "
            "with the same hyper-parameters as the one that wrote the checkpoint."
        )


def restore_training_state(trainer: Any, checkpoint: dict[str, Any]) -> None:
    """Optimizers, schedulers, precision and loop progress (after ``configure_optimizers``)."""
    states = checkpoint.get("optimizer_states")
    if states is None:
        raise CheckpointError(
            f"{trainer.ckpt_path} holds weights only (no 'optimizer_states'), so training cannot "
            "resume from it. Load it with Model.load_from_checkpoint(path) and start a new fit."
        )
    if len(states) != len(trainer.optimizers):
        raise ValueError(
            f"The checkpoint has {len(states)} optimizer state(s) but configure_optimizers returned "
            f"{len(trainer.optimizers)} optimizer(s); resume with the same optimizer setup."
        )
    for opt, state in zip(trainer.optimizers, states):
        opt.load_state_dict(state)
    for config, state in zip(trainer.lr_scheduler_configs, checkpoint.get("lr_schedulers", [])):
        config.scheduler.load_state_dict(state)
    precision_key = type(trainer.strategy.precision).__qualname__
    if precision_key in checkpoint:
        trainer.strategy.load_precision_state_dict(checkpoint[precision_key])
    _restore_loops(trainer, checkpoint)


def _restore_loops(trainer: Any, checkpoint: dict[str, Any]) -> None:
    p = trainer._progress
    loop = (checkpoint.get("loops") or {}).get("fit_loop")
    if not isinstance(loop, dict) or "batch" not in loop:  # a Lightning checkpoint: epoch ends only
        p.epoch = int(checkpoint.get("epoch", 0)) + 1
        p.global_step = p.batches_that_stepped = int(checkpoint.get("global_step", 0))
        return
    p.epoch, p.resume_batch = int(loop["epoch"]), int(loop["batch"])
    p.global_step = int(loop["global_step"])
    p.batches_that_stepped = int(loop["batches_that_stepped"])
    p.total_batch_idx = int(loop["total_batch_idx"])
    trainer._pending_rng = loop.get("rng_states")
    p.epoch_rng = loop.get("epoch_rng_state")
    grads = loop.get("accumulated_grads")
    if grads is not None:
        for param, grad in zip(trainer.lightning_module.parameters(), grads):
            param.grad = None if grad is None else grad.to(param.device)


def _newest(paths: list[str]) -> str | None:
    paths = [p for p in paths if os.path.isfile(p)]
    return max(paths, key=os.path.getmtime) if paths else None


def resolve_ckpt_path(trainer: Any, ckpt_path: Any, fn: str) -> str | None:
    """``None``, a path, ``"last"``, ``"best"`` (or ``"hpc"`` / ``"auto"``) -> a file path or None."""
    if ckpt_path is None:
        return None
    if not isinstance(ckpt_path, (str, os.PathLike)):
        raise TypeError(
            f"ckpt_path must be a path, 'last' or 'best'; got {type(ckpt_path).__name__}."
        )
    ckpt_path = os.fspath(ckpt_path)
    callbacks = trainer.checkpoint_callbacks
    if ckpt_path == "best":
        best = next(
            (cb.best_model_path for cb in callbacks if getattr(cb, "best_model_path", "")), None
        )
        if not best:
            raise ValueError(
                f'{fn}(ckpt_path="best") needs a ModelCheckpoint that has saved a best model; none '
                "has yet. Fit first, or pass the path of a checkpoint file."
            )
        return best
    if ckpt_path in ("last", "auto"):
        found = _find_last(trainer)
        if found is None and ckpt_path == "last":
            import warnings

            warnings.warn(
                f'{fn}(ckpt_path="last") found no checkpoint; starting from scratch.', stacklevel=3
            )
        return found
    if os.path.isdir(ckpt_path):
        raise CheckpointError(
            f"ckpt_path={ckpt_path!r} is a directory; pass a checkpoint file inside it, or 'last'."
        )
    if not os.path.exists(ckpt_path):
        raise FileNotFoundError(
            f"ckpt_path={ckpt_path!r} does not exist. Pass an existing checkpoint file, 'last' or 'best'."
        )
    return ckpt_path


def _find_last(trainer: Any) -> str | None:
    candidates: list[str] = []
    for cb in trainer.checkpoint_callbacks:
        if getattr(cb, "last_model_path", ""):
            candidates.append(cb.last_model_path)
        dirpath = getattr(cb, "dirpath", None)
        if dirpath:
            candidates += glob.glob(os.path.join(dirpath, "*.ckpt"))
    root = trainer.default_root_dir
    candidates += glob.glob(os.path.join(root, "**", "*.ckpt"), recursive=True)
    return _newest(candidates)
