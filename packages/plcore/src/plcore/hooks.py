"""The hook table: every hook of the Lightning programming model, in the order the loops call it.

``Trainer.fit`` runs, in this order (``cb.X`` = each callback's X in the order given, then the
module's X; the full observed sequence is in the project's hook-order spec)::

    configure_callbacks; prepare_data                    (local rank 0 of each node)
    cb.setup("fit"); configure_model; configure_optimizers; cb.on_fit_start
    [cb.on_sanity_check_start; val_dataloader; VALIDATION(limited); cb.on_sanity_check_end]
    train_dataloader; [val_dataloader: not requested yet and the first epoch validates]
    cb.on_train_start
    for epoch:
        [train_dataloader: due for a reload (reload_dataloaders_every_n_epochs)]
        cb.on_train_epoch_start
        for batch:
            on_before_batch_transfer; transfer_batch_to_device; on_after_batch_transfer
            cb.on_train_batch_start                      (-1 from the module ends the epoch)
            optimizer_step(closure: training_step, cb.on_before_zero_grad, optimizer_zero_grad,
                           cb.on_before_backward, backward, cb.on_after_backward)
                -> cb.on_before_optimizer_step; configure_gradient_clipping; the real step
            [lr_scheduler_step]; cb.on_train_batch_end
            [on_validation_model_zero_grad; VALIDATION]  (when due: inside the batch loop,
                                                          after the epoch's last batch too)
            [ReduceLROnPlateau lr_scheduler_step]         (step interval, after validation)
        cb.on_train_epoch_end; monitoring callbacks' on_train_epoch_end
        [ReduceLROnPlateau lr_scheduler_step]             (epoch interval)
    cb.on_train_end; cb.on_fit_end; cb.teardown("fit")

    VALIDATION: [val_dataloader: first needed, or due for a reload]
        on_validation_model_eval; cb.on_validation_start; cb.on_validation_epoch_start;
        per loader, per batch: BATCH TRANSFER; cb.on_validation_batch_start; validation_step;
        cb.on_validation_batch_end; then cb.on_validation_epoch_end; cb.on_validation_end;
        on_validation_model_train

:data:`HOOKS` lists each hook once with who defines it; :class:`HookDispatcher` calls only the
overrides, so a hook nobody overrides costs one dictionary lookup and an empty loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["HOOKS", "MONITORING_CALLBACK_MARK", "REMOVED_HOOKS", "HookDispatcher", "HookSpec"]

CALLBACK = "callback"
MODULE = "module"
DATAMODULE = "datamodule"

#: Attribute a callback sets to ``True`` to run its ``on_train_epoch_end`` after the module's
#: (ModelCheckpoint and EarlyStopping do; they monitor metrics the module logs there).
MONITORING_CALLBACK_MARK = "_monitors_metrics"


@dataclass(frozen=True)
class HookSpec:
    """One hook: its name and which of callback / module / datamodule define it."""

    name: str
    owners: frozenset[str]


def _spec(name: str, *owners: str) -> HookSpec:
    return HookSpec(name, frozenset(owners))


_CM = (CALLBACK, MODULE)
_M = (MODULE,)
_MD = (MODULE, DATAMODULE)

#: Every hook, in the order a fit / validate / test / predict run first meets it.
HOOKS: tuple[HookSpec, ...] = (
    _spec("configure_callbacks", *_M),
    _spec("prepare_data", *_MD),
    _spec("setup", CALLBACK, MODULE, DATAMODULE),
    _spec("configure_model", *_M),
    _spec("on_load_checkpoint", CALLBACK, MODULE, DATAMODULE),
    _spec("load_state_dict", CALLBACK, DATAMODULE),
    _spec("configure_optimizers", *_M),
    _spec("on_fit_start", *_CM),
    _spec("on_sanity_check_start", CALLBACK),
    _spec("on_train_start", *_CM),
    _spec("on_train_epoch_start", *_CM),
    _spec("on_before_batch_transfer", *_MD),
    _spec("transfer_batch_to_device", *_MD),
    _spec("on_after_batch_transfer", *_MD),
    _spec("on_train_batch_start", *_CM),
    _spec("optimizer_step", *_M),
    _spec("training_step", *_M),
    _spec("on_before_zero_grad", *_CM),
    _spec("optimizer_zero_grad", *_M),
    _spec("on_before_backward", *_CM),
    _spec("backward", *_M),
    _spec("on_after_backward", *_CM),
    _spec("on_before_optimizer_step", *_CM),
    _spec("configure_gradient_clipping", *_M),
    _spec("lr_scheduler_step", *_M),
    _spec("on_train_batch_end", *_CM),
    _spec("on_validation_model_zero_grad", *_M),
    _spec("on_validation_model_eval", *_M),
    _spec("on_validation_start", *_CM),
    _spec("on_validation_epoch_start", *_CM),
    _spec("on_validation_batch_start", *_CM),
    _spec("validation_step", *_M),
    _spec("on_validation_batch_end", *_CM),
    _spec("on_validation_epoch_end", *_CM),
    _spec("on_validation_end", *_CM),
    _spec("on_validation_model_train", *_M),
    _spec("on_sanity_check_end", CALLBACK),
    _spec("on_train_epoch_end", *_CM),
    _spec("state_dict", CALLBACK, DATAMODULE),
    _spec("on_save_checkpoint", CALLBACK, MODULE, DATAMODULE),
    _spec("on_train_end", *_CM),
    _spec("on_fit_end", *_CM),
    _spec("on_test_model_eval", *_M),
    _spec("on_test_start", *_CM),
    _spec("on_test_epoch_start", *_CM),
    _spec("on_test_batch_start", *_CM),
    _spec("test_step", *_M),
    _spec("on_test_batch_end", *_CM),
    _spec("on_test_epoch_end", *_CM),
    _spec("on_test_end", *_CM),
    _spec("on_test_model_train", *_M),
    _spec("on_predict_model_eval", *_M),
    _spec("on_predict_start", *_CM),
    _spec("on_predict_epoch_start", *_CM),
    _spec("on_predict_batch_start", *_CM),
    _spec("predict_step", *_M),
    _spec("on_predict_batch_end", *_CM),
    _spec("on_predict_epoch_end", *_CM),
    _spec("on_predict_end", *_CM),
    _spec("on_exception", CALLBACK, MODULE, DATAMODULE),
    _spec("teardown", CALLBACK, MODULE, DATAMODULE),
)

#: Lightning 1.x hooks removed in 2.0: a module defining one is refused by the entry point that
#: would have called it (not mistaken for a misspelling of its ``on_*`` successor).
REMOVED_HOOKS: frozenset[str] = frozenset(
    {"training_epoch_end", "validation_epoch_end", "test_epoch_end"}
)

#: Names of the hooks callbacks define, for quick membership checks.
CALLBACK_HOOKS: frozenset[str] = frozenset(h.name for h in HOOKS if CALLBACK in h.owners)


def is_overridden(obj: Any, name: str, base: type) -> bool:
    """Whether ``obj``'s class (or the instance itself) replaces ``base.name``."""
    if name in getattr(obj, "__dict__", {}):  # patched on the instance, e.g. by a test or mock
        return True
    return getattr(type(obj), name, None) is not getattr(base, name, None)


class HookDispatcher:
    """Calls callback hooks, skipping every callback that leaves a hook as the no-op default.

    Args:
        callbacks: the callbacks, in the order the user gave them.
        base: the callback base class whose methods count as "not overridden".
    """

    def __init__(self, callbacks: Iterable[Any], base: type) -> None:
        self._callbacks = list(callbacks)
        self._base = base
        self._table: dict[str, tuple[Callable[..., Any], ...]] = {}
        self._monitors: dict[str, tuple[Callable[..., Any], ...]] = {}
        self.refresh()

    @property
    def callbacks(self) -> list[Any]:
        return self._callbacks

    def refresh(self, callbacks: Iterable[Any] | None = None) -> None:
        """Rebuild the table, e.g. after ``configure_callbacks`` added callbacks."""
        if callbacks is not None:
            self._callbacks = list(callbacks)
        table: dict[str, list[Callable[..., Any]]] = {}
        monitors: dict[str, list[Callable[..., Any]]] = {}
        for cb in self._callbacks:
            late = bool(getattr(cb, MONITORING_CALLBACK_MARK, False))
            for name in CALLBACK_HOOKS:
                if is_overridden(cb, name, self._base):
                    (monitors if late and name == "on_train_epoch_end" else table).setdefault(
                        name, []
                    ).append(getattr(cb, name))
        self._table = {k: tuple(v) for k, v in table.items()}
        self._monitors = {k: tuple(v) for k, v in monitors.items()}

    def has(self, name: str) -> bool:
        """Whether any callback overrides ``name`` (lets hot paths skip argument building)."""
        return name in self._table or name in self._monitors

    def bound(self, name: str) -> tuple[Callable[..., Any], ...]:
        """The overriding callbacks' bound methods for ``name`` (for a loop to call directly)."""
        return self._table.get(name, ())

    def call(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Call ``name`` on every callback that overrides it, in the order given."""
        for fn in self._table.get(name, ()):
            fn(*args, **kwargs)

    def call_monitors(self, name: str, *args: Any) -> None:
        """Call the monitoring callbacks' ``name`` (they run after the module's hook)."""
        for fn in self._monitors.get(name, ()):
            fn(*args)
