"""Hyper-parameter helpers under Lightning's ``utilities.parsing`` names.

``AttributeDict`` is the type of ``self.hparams``; :func:`clean_namespace` is what the Trainer
applies to ``model.hparams`` when a run starts: a value that cannot be pickled is removed with a
warning, as Lightning does. :func:`logs_hyperparameters` tells a trainer whether to send an
object's hyper-parameters to the loggers.
"""

from __future__ import annotations

import pickle
from collections.abc import MutableMapping
from typing import Any

from plcore._hparams import AttributeDict
from plcore.utilities.rank_zero import rank_zero_warn

__all__ = ["AttributeDict", "clean_namespace", "is_picklable", "logs_hyperparameters"]


def logs_hyperparameters(obj: Any) -> bool:
    """Whether ``obj`` (a LightningModule or LightningDataModule) saved hyper-parameters for the
    loggers: ``save_hyperparameters(...)`` was called, without ``logger=False``.

    Args:
        obj: the module or datamodule.
    """
    return bool(getattr(obj, "_log_hyperparams", False))


def is_picklable(obj: Any) -> bool:
    """Whether ``pickle.dumps(obj)`` succeeds.

    Args:
        obj: any object.
    """
    try:
        pickle.dumps(obj)
    except (pickle.PickleError, AttributeError, RuntimeError, TypeError):
        return False
    return True


def clean_namespace(hparams: MutableMapping[str, Any]) -> None:
    """Remove, with a warning each, the entries of ``hparams`` that cannot be pickled.

    Args:
        hparams: e.g. ``model.hparams``; changed in place.
    """
    for key in [k for k, v in hparams.items() if not is_picklable(v)]:
        rank_zero_warn(
            f"Attribute '{key}' removed from hparams because it cannot be pickled. You can suppress"
            f" this warning by setting `self.save_hyperparameters(ignore=['{key}'])`."
        )
        del hparams[key]
