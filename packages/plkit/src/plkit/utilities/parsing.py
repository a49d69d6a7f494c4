"""``lightning.pytorch.utilities.parsing``: hyper-parameter helpers, and the attribute lookup
the tuner uses to read and set ``lr`` / ``batch_size`` wherever a user keeps it.

``lightning_getattr(model, "batch_size")`` looks in the model, ``model.hparams``, the trainer's
datamodule and its ``hparams``, and answers from the last of these that has it;
``lightning_setattr`` sets every one of them.
"""

from __future__ import annotations

from typing import Any

from plcore.utilities.parsing import AttributeDict, clean_namespace, is_picklable

__all__ = [
    "AttributeDict",
    "clean_namespace",
    "is_picklable",
    "lightning_getattr",
    "lightning_hasattr",
    "lightning_setattr",
]


def _trainer_of(model: Any) -> Any:
    try:
        return model.trainer
    except RuntimeError:  # not attached to a Trainer
        return None


def _holders(model: Any, attribute: str) -> list[Any]:
    """Every object or dict holding ``attribute``: model, model.hparams, datamodule, its hparams."""
    holders: list[Any] = []
    if hasattr(model, attribute):
        holders.append(model)
    if hasattr(model, "hparams") and attribute in model.hparams:
        holders.append(model.hparams)
    trainer = _trainer_of(model)
    dm = getattr(trainer, "datamodule", None) if trainer is not None else None
    if dm is not None:
        if hasattr(dm, attribute):
            holders.append(dm)
        if hasattr(dm, "hparams") and attribute in dm.hparams:
            holders.append(dm.hparams)
    return holders


def _missing(attribute: str) -> AttributeError:
    return AttributeError(
        f"{attribute} is neither stored in the model namespace"
        " nor the `hparams` namespace/dict, nor the datamodule."
    )


def lightning_hasattr(model: Any, attribute: str) -> bool:
    """Whether ``attribute`` is in the model, its hparams, the datamodule or its hparams."""
    return bool(_holders(model, attribute))


def lightning_getattr(model: Any, attribute: str) -> Any:
    """``attribute``'s value from the last of its holders (the datamodule before the model)."""
    holders = _holders(model, attribute)
    if not holders:
        raise _missing(attribute)
    holder = holders[-1]
    return holder[attribute] if isinstance(holder, dict) else getattr(holder, attribute)


def lightning_setattr(model: Any, attribute: str, value: Any) -> None:
    """Set ``attribute`` to ``value`` in every holder that has it."""
    holders = _holders(model, attribute)
    if not holders:
        raise _missing(attribute)
    for holder in holders:
        if isinstance(holder, dict):
            holder[attribute] = value
        else:
            setattr(holder, attribute, value)
