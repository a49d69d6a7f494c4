"""Calling hooks: callbacks first (in the order given), then the module, with ``self.log``'s context.

Only overridden hooks are called. ``self.log`` needs to know which hook is running (its defaults
and its permissions depend on it), so every call sets the module's log context and restores the
previous one afterwards (a hook may run inside another, e.g. ``on_before_backward`` inside
``training_step`` under manual optimization).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plcore import Callback, LightningDataModule, LightningModule
from plcore.hooks import HOOKS, MODULE, HookDispatcher, is_overridden

if TYPE_CHECKING:
    from plkit.profilers import Profiler
    from plkit.trainer import Trainer

__all__ = ["HookCaller"]

_MODULE_HOOKS = tuple(h.name for h in HOOKS if MODULE in h.owners)


class HookCaller:
    """Dispatches hooks for one run (``plkit._profiling.ProfiledHookCaller`` times each call
    when the Trainer has a profiler).

    Args:
        trainer: passed as the first argument of callback hooks.
        model: the LightningModule.
        callbacks: the callbacks in order.
        datamodule: the LightningDataModule, if any.
    """

    #: What times the hooks (None: nothing; the loops then take their unprofiled paths).
    profiler: Profiler | None = None

    def __init__(
        self,
        trainer: Trainer,
        model: LightningModule,
        callbacks: list[Callback],
        datamodule: LightningDataModule | None = None,
    ) -> None:
        self.trainer = trainer
        self.model = model
        self.datamodule = datamodule
        self.ctx = model.log_context
        self.dispatcher = HookDispatcher(callbacks, Callback)
        self.overridden = frozenset(
            n for n in _MODULE_HOOKS if is_overridden(model, n, LightningModule)
        )

    def active(self, name: str) -> bool:
        """Whether calling ``name`` would run anything (a callback or the module overrides it)."""
        return self.dispatcher.has(name) or name in self.overridden

    def callbacks(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Every callback's ``name`` (those that override it), in order."""
        if not self.dispatcher.has(name):
            return
        ctx = self.ctx
        prev, ctx.fx = ctx.fx, name
        try:
            self.dispatcher.call(name, self.trainer, self.model, *args, **kwargs)
        finally:
            ctx.fx = prev

    def monitors(self, name: str) -> None:
        """Monitoring callbacks (ModelCheckpoint, EarlyStopping) for ``name``, after the module."""
        self.dispatcher.call_monitors(name, self.trainer, self.model)

    def module(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """The module's ``name`` (always called: some defaults do real work)."""
        ctx = self.ctx
        prev, ctx.fx = ctx.fx, name
        try:
            return getattr(self.model, name)(*args, **kwargs)
        finally:
            ctx.fx = prev

    def module_if(self, name: str, *args: Any) -> Any:
        """The module's ``name`` only when the user overrode it (its default is a no-op)."""
        if name in self.overridden:
            return self.module(name, *args)
        return None

    def both(self, name: str, *args: Any) -> None:
        """Callbacks' then the module's ``name``."""
        self.callbacks(name, *args)
        self.module_if(name, *args)

    def datamodule_call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """The datamodule's ``name``, always called (setup, teardown, its loaders)."""
        return getattr(self.datamodule, name)(*args, **kwargs)

    def datamodule_hook(self, name: str, *args: Any) -> Any:
        """The datamodule's ``name`` only when it overrides it."""
        dm = self.datamodule
        if dm is not None and is_overridden(dm, name, LightningDataModule):
            return getattr(dm, name)(*args)
        return None
