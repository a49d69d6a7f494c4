"""``LearningRateMonitor``: log every optimizer's learning rate (and optionally momentum, decay).

::

    from plkit.callbacks import LearningRateMonitor

    trainer = Trainer(logger=CSVLogger("logs"), callbacks=[LearningRateMonitor("step")])

Metric names follow Lightning: ``lr-Adam`` for one optimizer with one parameter group,
``lr-Adam/pg1``, ``lr-Adam/pg2`` with several groups (or ``lr-Adam/<group name>`` when a group has
a ``"name"``), ``lr-Adam-1`` for the second ``Adam``, the scheduler config's ``name`` when given,
and ``<name>-momentum`` / ``<name>-weight_decay`` for the extras.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import torch

from plcore.callback import Callback
from plcore.utilities.rank_zero import rank_zero_warn

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["LearningRateMonitor"]

_INTERVALS = (None, "step", "epoch")


class LearningRateMonitor(Callback):
    """Log learning rates to the Trainer's loggers during training.

    Args:
        logging_interval: ``"step"`` logs every optimizer before each batch (at the Trainer's
            ``log_every_n_steps`` cadence), ``"epoch"`` at the start of each epoch, and None logs
            each scheduler at its own interval (optimizers without a scheduler: both).
        log_momentum: also log momentum (``betas[0]`` for Adam-like optimizers).
        log_weight_decay: also log weight decay.

    Raises:
        ValueError: at fit start, when the Trainer has no logger.
    """

    def __init__(
        self,
        logging_interval: str | None = None,
        log_momentum: bool = False,
        log_weight_decay: bool = False,
    ) -> None:
        super().__init__()
        if logging_interval not in _INTERVALS:
            raise ValueError(
                f"LearningRateMonitor(logging_interval={logging_interval!r}) is invalid: use"
                " 'step', 'epoch' or None."
            )
        self.logging_interval = logging_interval
        self.log_momentum = log_momentum
        self.log_weight_decay = log_weight_decay
        self.lrs: dict[str, list[float]] = {}
        self.last_momentum_values: dict[str, float | None] = {}
        self.last_weight_decay_values: dict[str, float | None] = {}

    # --- hooks ----------------------------------------------------------------------------------
    def setup(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        if stage == "fit" and not trainer.loggers:
            raise ValueError(
                "Cannot use `LearningRateMonitor` callback with `Trainer` that has no logger."
                " Pass `logger=True` (or a logger) to the Trainer, or remove the callback."
            )

    def on_train_start(self, trainer: Trainer, pl_module: Any) -> None:
        if not trainer.loggers:
            raise ValueError(
                "Cannot use `LearningRateMonitor` callback with `Trainer` that has no logger."
            )
        if self.log_momentum and self._some_lack_momentum(trainer):
            rank_zero_warn(
                "You have set log_momentum=True, but some optimizers do not have momentum. This"
                " will log a value 0 for the momentum.",
                category=RuntimeWarning,
            )
        names = [name for group in self._all_names(trainer) for name in group]
        self.lrs = {name: [] for name in names}
        self.last_momentum_values = {f"{name}-momentum": None for name in names}
        self.last_weight_decay_values = {f"{name}-weight_decay": None for name in names}

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.logging_interval == "epoch" or not _logs_this_step(trainer):
            return
        stats = self._extract_stats(trainer, "step" if self.logging_interval is None else "any")
        self._log(trainer, stats)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: Any) -> None:
        if self.logging_interval == "step":
            return
        stats = self._extract_stats(trainer, "epoch" if self.logging_interval is None else "any")
        self._log(trainer, stats)

    # --- values ---------------------------------------------------------------------------------
    @staticmethod
    def _log(trainer: Trainer, stats: dict[str, float]) -> None:
        if not stats:
            return
        step = _logging_step(trainer)
        for logger in trainer.loggers:
            logger.log_metrics(stats, step=step)

    def _extract_stats(self, trainer: Trainer, interval: str) -> dict[str, float]:
        """The values due at ``interval`` ("step", "epoch" or "any"), keyed by metric name."""
        stats: dict[str, float] = {}
        sched_names, seen, seen_types = self._find_names_from_schedulers(
            trainer.lr_scheduler_configs
        )
        self._remap_keys(sched_names)
        for names, config in zip(sched_names, trainer.lr_scheduler_configs):
            if interval in (config.interval, "any"):
                stats.update(self._get_optimizer_stats(config.scheduler.optimizer, names))
        opt_names, unscheduled = self._find_names_from_optimizers(
            trainer.optimizers, seen, seen_types
        )
        self._remap_keys(opt_names)
        for names, optimizer in zip(opt_names, unscheduled):
            stats.update(self._get_optimizer_stats(optimizer, names))
        # Lightning exposes the values to other callbacks (e.g. checkpoint names) as well.
        device = getattr(trainer.strategy, "root_device", None)
        trainer.callback_metrics.update(
            {name: torch.tensor(value, device=device) for name, value in stats.items()}
        )
        return stats

    def _get_optimizer_stats(self, optimizer: Any, names: list[str]) -> dict[str, float]:
        stats: dict[str, float] = {}
        use_betas = "betas" in optimizer.defaults
        for group, name in zip(optimizer.param_groups, names):
            lr = group["lr"]
            self.lrs.setdefault(name, []).append(lr)
            stats[name] = lr
            if self.log_momentum:
                momentum = group["betas"][0] if use_betas else group.get("momentum", 0)
                self.last_momentum_values[f"{name}-momentum"] = momentum
                stats[f"{name}-momentum"] = momentum
            if self.log_weight_decay:
                decay = group["weight_decay"]
                self.last_weight_decay_values[f"{name}-weight_decay"] = decay
                stats[f"{name}-weight_decay"] = decay
        return stats

    def _remap_keys(self, names: list[list[str]], token: str = "/pg1") -> None:
        # An optimizer that gained a parameter group mid-run: its history moves to "/pg1".
        for group_names in names:
            for name in group_names:
                old = name.replace(token, "")
                if token in name and old in self.lrs:
                    self.lrs[name] = self.lrs.pop(old)
                elif name not in self.lrs:
                    self.lrs[name] = []

    # --- names ----------------------------------------------------------------------------------
    def _all_names(self, trainer: Trainer) -> list[list[str]]:
        sched_names, seen, seen_types = self._find_names_from_schedulers(
            trainer.lr_scheduler_configs
        )
        opt_names, _ = self._find_names_from_optimizers(trainer.optimizers, seen, seen_types)
        return sched_names + opt_names

    def _find_names_from_schedulers(
        self, configs: list[Any]
    ) -> tuple[list[list[str]], list[Any], defaultdict[type, int]]:
        names: list[list[str]] = []
        seen: list[Any] = []
        seen_types: defaultdict[type, int] = defaultdict(int)
        for config in configs:
            optimizer = config.scheduler.optimizer
            name = config.name if config.name is not None else f"lr-{type(optimizer).__name__}"
            names.append(
                self._check_duplicates_and_update_name(optimizer, name, seen, seen_types, config)
            )
        return names, seen, seen_types

    def _find_names_from_optimizers(
        self, optimizers: list[Any], seen: list[Any], seen_types: defaultdict[type, int]
    ) -> tuple[list[list[str]], list[Any]]:
        names: list[list[str]] = []
        unscheduled: list[Any] = []
        for optimizer in optimizers:
            # Wrappers (e.g. a LightningOptimizer) hold the torch optimizer as `.optimizer`.
            optimizer = getattr(optimizer, "optimizer", optimizer)
            if any(optimizer is other for other in seen):
                continue
            name = f"lr-{type(optimizer).__name__}"
            names.append(
                self._check_duplicates_and_update_name(optimizer, name, seen, seen_types, None)
            )
            unscheduled.append(optimizer)
        return names, unscheduled

    def _check_duplicates_and_update_name(
        self,
        optimizer: Any,
        name: str,
        seen: list[Any],
        seen_types: defaultdict[type, int],
        config: Any,
    ) -> list[str]:
        seen.append(optimizer)
        cls = type(optimizer)
        # A scheduler config's explicit name is unique already; default names get counted.
        if config is None or config.name is None:
            seen_types[cls] += 1
        groups = optimizer.param_groups
        duplicates = _duplicate_group_names(groups)
        if duplicates:
            raise ValueError(
                "A single `Optimizer` cannot have multiple parameter groups with identical `name`"
                f" values. {name} has duplicated parameter group names {sorted(duplicates)}; give"
                " each group a distinct 'name'."
            )
        count = seen_types.get(cls, 0)
        if count > 1:
            name = f"{name}-{count - 1}"
        return [_group_name(name, groups, index) for index in range(len(groups))]

    @staticmethod
    def _some_lack_momentum(trainer: Trainer) -> bool:
        optimizers = [getattr(o, "optimizer", o) for o in trainer.optimizers]
        optimizers += [c.scheduler.optimizer for c in trainer.lr_scheduler_configs]
        return any("momentum" not in o.defaults and "betas" not in o.defaults for o in optimizers)


def _group_name(name: str, groups: list[dict[str, Any]], index: int) -> str:
    if len(groups) > 1:
        return f"{name}/{groups[index].get('name', f'pg{index + 1}')}"
    group_name = groups[index].get("name")
    return f"{name}/{group_name}" if group_name else name


def _duplicate_group_names(groups: list[dict[str, Any]]) -> set[str]:
    names = [group.get("name", f"pg{i}") for i, group in enumerate(groups, start=1)]
    return {name for name in names if names.count(name) > 1}


def _logging_step(trainer: Trainer) -> int:
    """The step the Trainer writes its own metrics at (optimizer steps of the epoch loop)."""
    stepped = getattr(trainer, "batches_that_stepped", None)
    return int(stepped) if isinstance(stepped, int) else int(trainer.global_step)


def _logs_this_step(trainer: Trainer) -> bool:
    """The Trainer's own cadence: every ``log_every_n_steps`` steps, and on the stopping step."""
    every = getattr(trainer, "log_every_n_steps", 50)
    if trainer.should_stop:
        return True
    return bool(every) and (_logging_step(trainer) + 1) % every == 0
