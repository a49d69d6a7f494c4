"""What ``configure_optimizers`` may return, turned into optimizers and scheduler configs.

Accepted forms (as in Lightning 2.x):

- one optimizer;
- a list or tuple of optimizers;
- two lists: ``([optimizers], [schedulers or scheduler config dicts])``;
- a dict ``{"optimizer": opt, "lr_scheduler": scheduler or config dict, "monitor": ...}``;
- a list or tuple of such dicts;
- ``None`` (a warning; the loop runs with a stand-in optimizer whose steps change nothing, so
  the hooks and ``global_step`` run as usual).

A scheduler config dict has ``scheduler`` and optionally ``interval`` ("epoch" | "step"),
``frequency``, ``monitor``, ``strict``, ``name``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from plcore.utilities.exceptions import MisconfigurationException

__all__ = ["LRSchedulerConfig", "check_for_mode", "parse_optimizers"]

_FORMS = (
    "configure_optimizers must return one of: an optimizer; a list/tuple of optimizers; "
    "([optimizers], [schedulers]); a dict {'optimizer': opt, 'lr_scheduler': scheduler or "
    "{'scheduler': ..., 'interval': 'epoch'|'step', 'frequency': 1, 'monitor': ...}}; a list of "
    "such dicts; or None."
)
_CONFIG_KEYS = {
    "scheduler",
    "interval",
    "frequency",
    "monitor",
    "strict",
    "name",
    "reduce_on_plateau",
    "opt_idx",
}


@dataclass
class LRSchedulerConfig:
    """A scheduler and when to step it (Lightning's names)."""

    scheduler: Any
    name: str | None = None
    interval: str = "epoch"
    frequency: int = 1
    reduce_on_plateau: bool = False
    monitor: str | None = None
    strict: bool = True


class _MockOptimizer(torch.optim.Optimizer):
    """What ``trainer.optimizers`` holds when ``configure_optimizers`` returned None.

    It has no parameter groups: ``step`` runs the closure (training_step, backward, the hooks)
    and changes nothing, so a fit without optimization counts steps as Lightning does (the
    class name is Lightning's too).
    """

    def __init__(self) -> None:
        super().__init__([torch.zeros(1)], {})
        self.param_groups = []

    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        """Run ``closure`` (if any) and return its result; no parameter changes."""
        return None if closure is None else closure()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Nothing to zero: the model's gradients are not this optimizer's."""

    def __repr__(self) -> str:
        return "No Optimizer"


def _is_optimizer(obj: Any) -> bool:
    return isinstance(obj, torch.optim.Optimizer) or (
        hasattr(obj, "step") and hasattr(obj, "zero_grad") and hasattr(obj, "param_groups")
    )


def _is_plateau(scheduler: Any) -> bool:
    return isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)


def _scheduler_config(item: Any, monitor: str | None = None) -> LRSchedulerConfig:
    """A config for ``item`` (a scheduler or a config dict); ``monitor``, the outer dict's, applies
    to a bare scheduler only."""
    if isinstance(item, Mapping):
        unknown = set(item) - _CONFIG_KEYS
        if unknown:  # Lightning ignores them, with this warning
            warnings.warn(
                f"Found unsupported keys in the lr scheduler dict: {unknown}. HINT: remove them "
                "from the output of `configure_optimizers`.",
                RuntimeWarning,
                stacklevel=4,
            )
        if "scheduler" not in item:
            raise MisconfigurationException(
                f"A scheduler config dict needs a 'scheduler' key; it has {sorted(item)}. " + _FORMS
            )
        config = LRSchedulerConfig(
            scheduler=item["scheduler"],
            monitor=item.get("monitor"),  # a config dict names its own (Lightning's rule)
            name=item.get("name"),
            interval=item.get("interval", "epoch"),
            frequency=item.get("frequency", 1),
            strict=item.get("strict", True),
        )
    else:
        config = LRSchedulerConfig(scheduler=item, monitor=monitor)
    if config.interval not in ("epoch", "step"):
        raise MisconfigurationException(
            f"Scheduler config interval={config.interval!r} is invalid; use 'epoch' or 'step'."
        )
    if not isinstance(config.frequency, int) or config.frequency < 1:
        raise ValueError(
            f"Scheduler config frequency={config.frequency!r} is invalid; use an int >= 1."
        )
    if not hasattr(config.scheduler, "step"):
        raise TypeError(
            f"{type(config.scheduler).__name__} is not a learning-rate scheduler "
            "(it has no step()). " + _FORMS
        )
    config.reduce_on_plateau = _is_plateau(config.scheduler)
    return config


def _from_dict(item: Mapping[str, Any]) -> tuple[Any, list[LRSchedulerConfig]]:
    if "optimizer" not in item:  # a KeyError, as under Lightning
        raise KeyError(
            "The dict returned by configure_optimizers needs an 'optimizer' key. " + _FORMS
        )
    unknown = set(item) - {"optimizer", "lr_scheduler", "monitor"}
    if unknown:  # Lightning ignores them, with this warning
        warnings.warn(
            f"Found unsupported keys in the optimizer configuration: {unknown}",
            RuntimeWarning,
            stacklevel=4,
        )
    sched = item.get("lr_scheduler")
    configs = [] if sched is None else [_scheduler_config(sched, item.get("monitor"))]
    return item["optimizer"], configs


def parse_optimizers(result: Any) -> tuple[list[Any], list[LRSchedulerConfig]]:
    """Split what ``configure_optimizers`` returned into optimizers and scheduler configs."""
    if result is None:
        warnings.warn(
            "`LightningModule.configure_optimizers` returned `None`, this fit will run with no "
            "optimizer",
            UserWarning,
            stacklevel=3,
        )
        return [_MockOptimizer()], []
    if _is_optimizer(result):
        return [result], []
    if isinstance(result, Mapping):
        opt, configs = _from_dict(result)
        optimizers, schedulers = [opt], configs
    elif isinstance(result, Sequence) and not isinstance(result, str):
        optimizers, schedulers = _from_sequence(result)
    else:
        raise MisconfigurationException(
            f"configure_optimizers returned {type(result).__name__}. " + _FORMS
        )
    for opt in optimizers:
        if not _is_optimizer(opt):
            raise MisconfigurationException(
                f"configure_optimizers returned {type(opt).__name__} where an optimizer "
                "was expected. " + _FORMS
            )
    _check_scheduler_owners(optimizers, schedulers)
    return optimizers, schedulers


def _check_scheduler_owners(optimizers: list[Any], configs: list[LRSchedulerConfig]) -> None:
    ids = {id(opt) for opt in optimizers}
    for config in configs:
        owner = getattr(config.scheduler, "optimizer", None)
        if owner is not None and id(owner) not in ids:
            raise MisconfigurationException(
                f"The scheduler {type(config.scheduler).__name__} is attached to an optimizer that "
                "configure_optimizers did not return; return that optimizer too."
            )


def check_for_mode(
    optimizers: list[Any], configs: list[LRSchedulerConfig], automatic: bool
) -> None:
    """Rules that depend on automatic vs manual optimization (Lightning 2.x's)."""
    if automatic and len(optimizers) > 1:
        raise RuntimeError(
            "Training with several optimizers is only supported with manual optimization: set "
            "`self.automatic_optimization = False` in __init__ and step each optimizer in "
            "training_step (see the GAN example)."
        )
    for config in configs:
        if automatic and config.reduce_on_plateau and config.monitor is None:
            raise MisconfigurationException(
                "ReduceLROnPlateau needs a metric to monitor: return {'optimizer': opt, "
                "'lr_scheduler': {'scheduler': sched, 'monitor': 'val_loss'}} from "
                "configure_optimizers."
            )


def _from_sequence(result: Sequence[Any]) -> tuple[list[Any], list[LRSchedulerConfig]]:
    items = list(result)
    if len(items) == 2 and isinstance(items[0], (list, tuple)):
        second = items[1]
        schedulers = list(second) if isinstance(second, (list, tuple)) else [second]
        if not any(_is_optimizer(s) for s in schedulers):  # ([opts], [scheds]) or ([opts], sched)
            return list(items[0]), [_scheduler_config(s) for s in schedulers]
    if items and all(isinstance(i, Mapping) for i in items):
        optimizers, configs = [], []
        for item in items:
            opt, cfgs = _from_dict(item)
            optimizers.append(opt)
            configs.extend(cfgs)
        return optimizers, configs
    if items and all(_is_optimizer(i) for i in items):
        return items, []
    raise MisconfigurationException(
        "configure_optimizers returned a sequence of "
        f"{[type(i).__name__ for i in items]}. " + _FORMS
    )
