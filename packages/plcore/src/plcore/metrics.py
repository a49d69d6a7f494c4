"""``self.log`` bookkeeping: step values, epoch aggregation and the three metric views.

A :class:`MetricStore` holds what one loop (training, validation, test) logged. ``log`` keeps each
value as a detached tensor on its device and, for epoch aggregation, a running tensor
accumulator: nothing here calls ``.item()`` or otherwise waits for the device. Values become
Python numbers only when a logger or the progress bar asks for them.

Names follow Lightning: a value logged with both ``on_step`` and ``on_epoch`` appears as
``name_step`` and ``name_epoch`` for loggers and the progress bar, and as ``name`` (the epoch
value once the epoch ends) in the callback metrics; with several dataloaders names get a
``/dataloader_idx_N`` suffix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from numbers import Number
from typing import Any

import numpy
import torch

from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn

__all__ = ["FX_DEFAULTS", "MetricEntry", "MetricStore", "MetricViews", "resolve_log_options"]

_REDUCE_FX = ("mean", "sum", "max", "min")
_UNSYNCED_WARNED: set[str] = set()


def _warn_unsynced(name: str) -> None:
    """Lightning's hint, once per name: an epoch value of several processes, not reduced."""
    if name in _UNSYNCED_WARNED:
        return
    _UNSYNCED_WARNED.add(name)
    from plcore.utilities.warnings import PossibleUserWarning

    rank_zero_warn(
        f"It is recommended to use `self.log({name!r}, ..., sync_dist=True)` when logging on epoch"
        " level in distributed setting to accumulate the metric across devices.",
        category=PossibleUserWarning,
    )


_PLAIN_FLOATS = (torch.float32, torch.float64)
_FOLD_EVERY = 64  # queued epoch values folded into the accumulator at once
#: Epoch means of CPU tensors are summed in Lightning's order and dtype (bit-equal results).
#: False takes the accelerator's path everywhere: one stacked float64 sum per fold, no host read.
IN_ORDER_ON_CPU = True
SyncFn = Callable[[torch.Tensor, str], torch.Tensor]

#: Hook name -> (default on_step, default on_epoch, on_step allowed, on_epoch allowed).
#: Hooks missing here may not call ``self.log``.
_STEP = (True, False, True, True)
_EVAL_STEP = (False, True, True, True)
_EPOCH = (False, True, False, True)
FX_DEFAULTS: dict[str, tuple[bool, bool, bool, bool]] = {
    **dict.fromkeys(
        (
            "training_step",
            "on_train_batch_start",
            "on_train_batch_end",
            "on_before_backward",
            "on_after_backward",
            "on_before_optimizer_step",
            "on_before_zero_grad",
            "optimizer_step",
            "optimizer_zero_grad",
            "backward",
            "configure_gradient_clipping",
        ),
        _STEP,
    ),
    **dict.fromkeys(
        (
            "validation_step",
            "test_step",
            "on_validation_batch_start",
            "on_validation_batch_end",
            "on_test_batch_start",
            "on_test_batch_end",
        ),
        _EVAL_STEP,
    ),
    **dict.fromkeys(
        (
            "on_train_start",
            "on_train_epoch_start",
            "on_train_epoch_end",
            "on_validation_start",
            "on_validation_epoch_start",
            "on_validation_epoch_end",
            "on_test_start",
            "on_test_epoch_start",
            "on_test_epoch_end",
        ),
        _EPOCH,
    ),
}


def resolve_log_options(
    fx: str | None, name: str, on_step: bool | None, on_epoch: bool | None
) -> tuple[bool, bool]:
    """Apply the per-hook defaults and reject logging from hooks that may not log."""
    if fx is None:
        raise MisconfigurationException(
            f"self.log({name!r}, ...) was called outside the Trainer's loops. Log from "
            "training_step, validation_step, test_step or the batch / epoch hooks."
        )
    rules = FX_DEFAULTS.get(fx)
    if rules is None:
        raise MisconfigurationException(
            f"You can't call self.log({name!r}, ...) inside `{fx}`. Log from training_step, "
            "validation_step, test_step or the on_*_batch_* / on_*_epoch_* hooks instead."
        )
    dstep, depoch, step_ok, epoch_ok = rules
    on_step = dstep if on_step is None else bool(on_step)
    on_epoch = depoch if on_epoch is None else bool(on_epoch)
    if on_step and not step_ok:
        raise MisconfigurationException(
            f"self.log({name!r}, on_step=True) is not allowed in `{fx}`: it runs once per epoch. "
            "Use on_step=False."
        )
    if not on_epoch and not step_ok:
        raise MisconfigurationException(
            f"self.log({name!r}, on_epoch=False) is not allowed in `{fx}`: it runs once per "
            "epoch, so its values are epoch values. Use on_epoch=True."
        )
    if on_epoch and not epoch_ok:
        raise MisconfigurationException(
            f"self.log({name!r}, on_epoch=True) is not allowed in `{fx}`."
        )
    if not on_step and not on_epoch:
        raise MisconfigurationException(
            f"self.log({name!r}, on_step=False, on_epoch=False) is not useful: the value would "
            "go nowhere. Set on_step=True, on_epoch=True or both."
        )
    if "/dataloader_idx_" in name:
        raise MisconfigurationException(
            f"self.log({name!r}): names may not contain '/dataloader_idx_'; plkit adds that "
            "suffix itself when there are several dataloaders."
        )
    return on_step, on_epoch


def _as_tensor(name: str, value: Any, device: torch.device | None, fx: str = "") -> torch.Tensor:
    """A detached float scalar (float32, or float64 when given float64), as Lightning stores it.

    An integer or bool tensor warns once per key and hook, with Lightning's message.
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"self.log({name!r}, value) needs a scalar, got a tensor of shape "
                f"{tuple(value.shape)}. Reduce it first, e.g. value.mean()."
            )
        value = value.detach().reshape(())
        if not value.is_floating_point():
            _warn_not_floating(name, fx)
        if value.dtype not in (torch.float32, torch.float64):
            value = value.to(torch.float32)  # ints, bools, half: no overflow in epoch sums
        return value
    if not isinstance(value, Number):
        raise ValueError(
            f"self.log({name!r}, value) accepts a scalar tensor, a Python number or a "
            f"torchmetrics Metric; got {type(value).__name__}. Log strings through the logger "
            "(self.logger.experiment) instead."
        )
    return torch.tensor(float(value), dtype=torch.float32, device=device)


_WARNED: set[str] = set()


def _warn_not_floating(name: str, fx: str) -> None:
    message = (
        f"You called `self.log({name!r}, ...)` in your `{fx}` but the value needs to be floating"
        " to be reduced. Converting it to torch.float32. You can silence this warning by"
        " converting the value to floating point yourself. If you don't intend to reduce the"
        " value (for instance when logging the global step or epoch) then you can use"
        f" `self.logger.log_metrics({{{name!r}: ...}})` instead."
    )
    if message not in _WARNED:  # once per key and hook, as Lightning's warning cache does
        _WARNED.add(message)
        rank_zero_warn(message)


def _is_torchmetric(value: Any) -> bool:
    # Duck-typed so that torchmetrics is never imported by plcore.
    return hasattr(value, "compute") and hasattr(value, "reset") and hasattr(value, "update")


class MetricEntry:
    """One logged key in one hook: its options, its last step value and its epoch accumulator."""

    __slots__ = (
        "acc",
        "cached",
        "count",
        "dataloader_idx",
        "dtype",
        "fx",
        "logged_at",
        "logger",
        "metric",
        "name",
        "on_epoch",
        "on_step",
        "options",
        "pending",
        "prev_step_value",
        "prog_bar",
        "reduce_fx",
        "source",
        "step_synced",
        "step_value",
        "sync_dist",
        "weights",
    )

    def __init__(self, name: str, options: tuple[Any, ...], dataloader_idx: int | None) -> None:
        self.name = name
        self.options = options
        self.prog_bar, self.logger, self.on_step, self.on_epoch, self.reduce_fx, self.sync_dist = (
            options
        )
        self.dataloader_idx = dataloader_idx
        self.step_value: torch.Tensor | None = None
        # What the last step before the current one logged, and the step (of the store's
        # ``step_clock``) of the last log: a failed step's value can be taken back.
        self.prev_step_value: torch.Tensor | None = None
        self.logged_at = -1
        self.step_synced: torch.Tensor | None = None  # step_value reduced across processes
        self.acc: torch.Tensor | None = None
        self.dtype = torch.float32  # of the logged values (float64 ones stay float64)
        self.count: torch.Tensor | float = 0.0
        self.metric: Any = None
        self.cached: torch.Tensor | None = None
        self.source: int | None = None  # the dataloader that logged it (None: outside batches)
        self.fx: str = ""
        self.pending: list[torch.Tensor] = []
        self.weights: list[float] = []

    def update(self, value: torch.Tensor, batch_size: int | None) -> None:
        """Keep ``value`` as this step's value and queue it for the epoch aggregate.

        Values are queued, not added one by one: every ``_FOLD_EVERY`` steps (and when the epoch
        value is read) the queue is folded into the accumulator with one stacked operation,
        which costs far less per step than a tensor operation on every call.
        """
        self.step_value = value
        self.step_synced = None
        self.cached = None
        if self.on_epoch:
            self.pending.append(value)
            self.weights.append(1.0 if batch_size is None else float(batch_size))
            if len(self.pending) >= _FOLD_EVERY:
                self._fold()

    def _fold(self) -> None:
        if not self.pending:
            return
        values = torch.stack(self.pending)
        self.dtype = values.dtype
        fx = self.reduce_fx
        if fx == "mean" and IN_ORDER_ON_CPU and values.device.type == "cpu":
            self._fold_mean_in_order(values)
        elif fx == "mean":
            weights = torch.tensor(self.weights, dtype=torch.float64, device=values.device)
            part = (values.to(torch.float64) * weights).sum()
            self.count += float(sum(self.weights))
            self.acc = part if self.acc is None else self.acc + part
        else:
            part = values.sum() if fx == "sum" else values.max() if fx == "max" else values.min()
            if self.acc is None:
                self.acc = part
            elif fx == "sum":
                self.acc = self.acc + part
            elif fx == "max":
                self.acc = torch.maximum(self.acc, part)
            else:
                self.acc = torch.minimum(self.acc, part)
        self.pending.clear()
        self.weights.clear()

    def _fold_mean_in_order(self, values: torch.Tensor) -> None:
        """The weighted sum as Lightning forms it: ``value * batch_size`` added to an accumulator
        of the default float dtype one step at a time, so that the epoch mean has the same bits.
        On the CPU that costs a few numpy operations per fold (no per-step tensor operation);
        on an accelerator ``_fold`` makes one stacked float64 sum instead (no kernel launch per
        step; the mean can differ from Lightning's in the last bits there)."""
        default = torch.get_default_dtype()
        if default not in (torch.float32, torch.float64):
            default = torch.float32
        logged = values.dtype if values.dtype in (torch.float32, torch.float64) else default
        dtype = torch.promote_types(default, logged)
        array = values.detach().to(dtype).numpy()
        products = array * numpy.asarray(self.weights, dtype=array.dtype)
        start = numpy.zeros(1, dtype=array.dtype) if self.acc is None else self.acc.numpy()
        # ufunc accumulate adds strictly left to right in the array's dtype (no pairwise sum)
        total = numpy.add.accumulate(numpy.concatenate([start.reshape(1), products]))[-1]
        self.acc = torch.tensor(total, dtype=dtype)
        self.count += float(sum(self.weights))
        self.dtype = dtype

    def epoch_value(self, sync: SyncFn | None) -> torch.Tensor | None:
        """The epoch aggregate, reduced across processes once and cached until the next update."""
        if self.cached is None:
            self.cached = self._compute_epoch_value(sync)
        return self.cached

    def _compute_epoch_value(self, sync: SyncFn | None) -> torch.Tensor | None:
        self._fold()
        if self.metric is not None:
            value = self.metric.compute()
            return value.detach() if isinstance(value, torch.Tensor) else torch.tensor(value)
        if self.acc is None:
            return None
        if sync is not None and not self.sync_dist:
            _warn_unsynced(self.name)
        acc = self.acc
        if self.reduce_fx == "mean":
            if self.sync_dist and sync is not None:
                acc = sync(acc, "sum")
                # summed batch sizes as an int64 tensor, as Lightning divides by
                count = sync(
                    torch.tensor(int(self.count), dtype=torch.int64, device=acc.device), "sum"
                )
                return (acc / count).to(self.dtype)
            return (acc / self.count).to(self.dtype)
        if self.sync_dist and sync is not None:
            acc = sync(acc, self.reduce_fx)
        return acc

    def synced_step_value(self, sync: SyncFn | None) -> torch.Tensor | None:
        """The last step value, reduced across processes once (it is read again by later
        steps' logger writes, which must not reduce it twice)."""
        value = self.step_value
        if value is None or not self.sync_dist or sync is None:
            return value
        if self.step_synced is None:
            self.step_synced = sync(value, self.reduce_fx)
        return self.step_synced


class MetricViews:
    """The three dictionaries of Lightning: callback metrics, logged metrics, progress-bar metrics."""

    __slots__ = ("callback", "log", "pbar", "sources")

    def __init__(self) -> None:
        self.sources: dict[str, int | None] = {}  # logged key -> dataloader that logged it
        self.callback: dict[str, torch.Tensor] = {}
        self.log: dict[str, torch.Tensor] = {}
        self.pbar: dict[str, torch.Tensor] = {}


class MetricStore:
    """What one loop logged, keyed by (hook, name).

    Args:
        sync: reduces a tensor across processes (``sync(tensor, reduce_op)``); handed in by the
            runtime so plcore never imports a strategy. ``None`` means one process.
    """

    def __init__(self, sync: SyncFn | None = None) -> None:
        self.sync = sync
        self._entries: dict[tuple[str, str], MetricEntry] = {}
        self._step_dirty: dict[int, MetricEntry] = {}  # once per entry, however often logged
        #: The runtime's count of finished steps (``None``: not tracked). With it, a failed
        #: step's values can be taken back (:meth:`rollback_step`).
        self.step_clock: Callable[[], int] | None = None
        # A dirty value needs a cross-process reduction: it must be read on every rank at the
        # same point (the loop does that each step), never lazily by one rank alone.
        self.sync_pending = False

    def log(
        self,
        fx: str,
        name: str,
        value: Any,
        *,
        prog_bar: bool = False,
        logger: bool = True,
        on_step: bool = False,
        on_epoch: bool = True,
        reduce_fx: str | Callable[..., Any] = "mean",
        sync_dist: bool = False,
        batch_size: int | None = None,
        dataloader_idx: int | None = None,
        device: torch.device | None = None,
        source: int | None = None,
    ) -> MetricEntry:
        """Record one value; see ``LightningModule.log`` for the meaning of each option.

        Returns the entry, so a caller may remember it and use :meth:`log_again` next time.
        """
        reduce_fx = _normalize_reduce_fx(name, reduce_fx)
        if dataloader_idx is not None:
            name = f"{name}/dataloader_idx_{dataloader_idx}"
        key = (fx, name)
        options = (prog_bar, logger, on_step, on_epoch, reduce_fx, sync_dist)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = MetricEntry(name, options, dataloader_idx)
            entry.fx = fx
        elif entry.options != options:
            raise MisconfigurationException(
                f"self.log({name!r}) was already called in `{fx}` with different options "
                f"(prog_bar, logger, on_step, on_epoch, reduce_fx, sync_dist) = {entry.options}; "
                f"now {options}. Log each key with the same options, or use another name."
            )
        if on_step and self.step_clock is not None:
            self._remember_step(entry)
        if _is_torchmetric(value):
            entry.metric = value
            entry.cached = None
            if on_step:  # the batch value torchmetrics kept from its last forward()
                batch_value = getattr(value, "_forward_cache", None)
                entry.step_value = _as_tensor(
                    name, value.compute() if batch_value is None else batch_value, device
                )
                entry.step_synced = None
        else:
            entry.update(_as_tensor(name, value, device, fx), batch_size)
        entry.source = source
        if on_step:
            self._step_dirty[id(entry)] = entry
            if entry.sync_dist and self.sync is not None:
                self.sync_pending = True
        return entry

    def log_again(self, entry: MetricEntry, value: torch.Tensor, batch_size: int | None) -> None:
        """The hot path of :meth:`log` for a key already logged with the same options: a plain
        float32/float64 scalar tensor goes straight in (anything else takes the full path)."""
        if entry.on_step and self.step_clock is not None:
            self._remember_step(entry)
        if value.dim() or value.dtype not in _PLAIN_FLOATS or entry.metric is not None:
            entry.update(_as_tensor(entry.name, value, None, entry.fx), batch_size)
        else:
            entry.update(value.detach(), batch_size)
        if entry.on_step:
            self._step_dirty[id(entry)] = entry
            if entry.sync_dist and self.sync is not None:
                self.sync_pending = True

    def _remember_step(self, entry: MetricEntry) -> None:
        now = self.step_clock()  # type: ignore[misc]
        if entry.logged_at != now:
            entry.prev_step_value = entry.step_value
            entry.logged_at = now

    def rollback_step(self) -> None:
        """The current step failed: its ``on_step`` values go back to what earlier steps logged
        (a key first logged in it is forgotten), and the values of finished steps stay to be
        merged, as if the views had been updated at every step end. Needs ``step_clock``;
        without it, every value not yet merged is dropped (:meth:`discard_step_values`)."""
        if self.step_clock is None:
            self.discard_step_values()
            return
        now = self.step_clock()
        for key, entry in list(self._step_dirty.items()):
            if entry.logged_at != now:
                continue
            if entry.prev_step_value is None:
                del self._step_dirty[key]
            else:
                entry.step_value = entry.prev_step_value
                entry.step_synced = None
                entry.cached = None
        self.sync_pending = False

    def discard_step_values(self) -> None:
        """Forget which ``on_step`` values are new since the last :meth:`step_views` (a failed
        step's values are then never merged); the entries themselves stay."""
        self._step_dirty.clear()
        self.sync_pending = False

    def knows(self, entry: MetricEntry) -> bool:
        """Whether ``entry`` still belongs to this store (a reset forgets every entry)."""
        return self._entries.get((entry.fx, entry.name)) is entry

    @property
    def step_dirty(self) -> dict[int, Any]:
        """The entries that got an ``on_step`` value since the views last took them: non-empty
        when this step logged something. The same dict for the store's life, so a loop can
        hold it and test it per batch for nothing."""
        return self._step_dirty

    @property
    def has_step_values(self) -> bool:
        return bool(self._step_dirty)

    def step_views(self) -> MetricViews:
        """Values logged with ``on_step=True`` since the last call (tensors, no host sync)."""
        views = MetricViews()
        for entry in self._step_dirty.values():
            value = entry.synced_step_value(self.sync)
            if value is None:
                continue
            forked = _forked(entry.name, "_step") if entry.on_epoch else entry.name
            views.callback[entry.name] = value  # the plain name first, as Lightning orders them
            views.callback[forked] = value  # (the same key when equal)
            if entry.logger:
                views.log[forked] = value
            if entry.prog_bar:
                views.pbar[forked] = value
        self._step_dirty.clear()
        self.sync_pending = False
        return views

    def step_log_values(self, source: int | None = None) -> dict[str, torch.Tensor]:
        """What a logger receives for one step: the last value of every ``on_step`` key logged
        to the loggers since the last :meth:`reset` (also keys not logged again this step, as
        Lightning does), in the order they were first logged.

        Args:
            source: with several evaluation dataloaders, only keys logged from this one.
        """
        out: dict[str, torch.Tensor] = {}
        for entry in self._entries.values():
            if not entry.on_step or not entry.logger:
                continue
            if source is not None and entry.source != source:
                continue
            value = entry.synced_step_value(self.sync)
            if value is not None:
                out[_forked(entry.name, "_step") if entry.on_epoch else entry.name] = value
        return out

    def epoch_views(self) -> MetricViews:
        """Aggregated ``on_epoch=True`` values, reduced across processes when ``sync_dist``."""
        views = MetricViews()
        for entry in self._entries.values():
            if not entry.on_epoch:
                continue
            value = entry.epoch_value(self.sync)
            if value is None:
                continue
            forked = _forked(entry.name, "_epoch") if entry.on_step else entry.name
            views.callback[entry.name] = value
            if entry.on_step:
                views.callback[forked] = value
            if entry.logger:
                views.log[forked] = value
                views.sources[forked] = entry.source
            if entry.prog_bar:
                views.pbar[forked] = value
        return views

    def reset(self) -> None:
        """Forget all values (a new epoch or a new evaluation run); torchmetrics are reset too."""
        for entry in self._entries.values():
            if entry.metric is not None:
                entry.metric.reset()
        self._entries.clear()
        self._step_dirty.clear()
        self.sync_pending = False

    def names(self) -> list[str]:
        return [entry.name for entry in self._entries.values()]


def _forked(name: str, suffix: str) -> str:
    base, sep, idx = name.partition("/dataloader_idx_")
    return f"{base}{suffix}{sep}{idx}" if sep else f"{name}{suffix}"


def _normalize_reduce_fx(name: str, reduce_fx: Any) -> str:
    if isinstance(reduce_fx, str):
        fx = reduce_fx.lower()
        fx = "mean" if fx == "avg" else fx
    else:
        fx = {torch.mean: "mean", torch.sum: "sum", torch.max: "max", torch.min: "min"}.get(
            reduce_fx, getattr(reduce_fx, "__name__", repr(reduce_fx))
        )
    if fx not in _REDUCE_FX:
        raise MisconfigurationException(
            f"self.log({name!r}, reduce_fx={reduce_fx!r}) is not supported; use one of "
            f"{', '.join(map(repr, _REDUCE_FX))} (or torch.mean / torch.sum / torch.max / torch.min)."
        )
    return fx


def to_float_dict(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Turn tensors into Python floats (the one place a host sync happens, when values are written)."""
    return {k: (v.item() if isinstance(v, torch.Tensor) else float(v)) for k, v in metrics.items()}
