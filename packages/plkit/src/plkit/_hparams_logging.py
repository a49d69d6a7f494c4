"""The loggers' start-of-run calls: ``log_hyperparams``, ``log_graph`` and ``save``.

The module's and the datamodule's initial hyper-parameters are merged (a key both hold with
different values is a RuntimeError, as in Lightning) and written on global rank 0.
"""

from __future__ import annotations

from typing import Any

import torch

from plcore.utilities.parsing import logs_hyperparameters
from plkit._runstate import RunState

__all__ = ["log_hyperparams"]


def log_hyperparams(run: RunState) -> None:
    """Lightning's start-of-run logger calls on every logger (global rank 0 writes)."""
    loggers = run.trainer.loggers
    if not loggers:
        return
    params = _hparams_to_log(run.lightning_module, run.datamodule)
    if not run.strategy.is_global_zero:
        return
    for logger in loggers:
        if params is not None:
            logger.log_hyperparams(params)
        if hasattr(logger, "log_graph"):  # each logger decides (TensorBoard: log_graph=True)
            logger.log_graph(run.lightning_module)
        if hasattr(logger, "save"):
            logger.save()


def _hparams_to_log(model: Any, dm: Any) -> dict[str, Any] | None:
    """The module's and the datamodule's initial hyper-parameters, merged (None: neither saved
    any)."""
    from_model = logs_hyperparameters(model)
    from_dm = dm is not None and logs_hyperparameters(dm)
    if from_model and from_dm:
        model_hp, dm_hp = model.hparams_initial, dm.hparams_initial
        inconsistent = [
            key
            for key in model_hp.keys() & dm_hp.keys()
            if key != "_class_path" and not _same_hparam(model_hp[key], dm_hp[key])
        ]
        if inconsistent:
            raise RuntimeError(
                f"Error while merging hparams: the keys {inconsistent} are present in both the"
                " LightningModule's and LightningDataModule's hparams but have different values."
            )
        params = {**model_hp, **dm_hp}
    elif from_model:
        params = dict(model.hparams_initial)
    elif from_dm:
        params = dict(dm.hparams_initial)
    else:
        return None
    return {key: value for key, value in params.items() if key != "_class_path"}


def _same_hparam(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a is b
    try:
        return bool(a == b)
    except (RuntimeError, TypeError, ValueError):
        return False
