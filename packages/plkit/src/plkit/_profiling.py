"""How a run is timed when ``Trainer(profiler=...)`` is set: the profiled variants of the hook
caller, the dispatcher, the batch fetch and the optimization, chosen once when a run starts.

Without a profiler (``trainer.profiler`` is a :class:`PassThroughProfiler`) none of this is
used: the loops keep their unprofiled paths and time nothing. With one, every hook Lightning
calls is called (its default included, as Lightning does) inside ``profiler.profile(action)``,
under Lightning's action names:

=========================================  ==============================================
``[Callback]{state_key}.{hook}``           every callback, every hook called
``[LightningModule]{class}.{hook}``        the module's hooks
``[LightningDataModule]{class}.{hook}``    setup, teardown, the loaders, state_dict, ...
``[Strategy]{class}.{hook}``               training_step, validation_step, ..., backward,
                                           batch_to_device, on_train_start, ...
``run_training_epoch``                     one training epoch
``run_training_batch``                     one batch's optimization
``[_TrainingEpochLoop].train_dataloader_next``, ``[_EvaluationLoop].val_next`` / ``test_next``,
``[_PredictionLoop].predict_next``         fetching one batch
``save_checkpoint``, ``optimizer_step`` (manual optimization)
=========================================  ==============================================
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from plcore import Callback, LightningDataModule, LightningModule
from plcore.hooks import HOOKS, MODULE, MONITORING_CALLBACK_MARK, is_overridden
from plcore.utilities.exceptions import MisconfigurationException
from plkit import profilers
from plkit._calls import HookCaller
from plkit.loops.optimization import Optimization
from plkit.profilers import PassThroughProfiler, Profiler

if TYPE_CHECKING:
    from plkit._runstate import RunState
    from plkit.trainer import Trainer

__all__ = [
    "ProfiledDispatcher",
    "ProfiledHookCaller",
    "ProfiledOptimization",
    "check_barebones",
    "init_profiler",
    "make_hook_caller",
    "profiled_batches",
    "timed",
]

#: ``Trainer(profiler=name)``: the class in plkit.profilers (imported when asked for)
_PROFILERS: dict[str, str | None] = {
    "simple": "SimpleProfiler",
    "advanced": "AdvancedProfiler",
    "pytorch": "PyTorchProfiler",
    "xla": None,  # named in Lightning's list; plkit has no XLA support
}

_CALLBACK_HOOKS = tuple(h.name for h in HOOKS if "callback" in h.owners)
_MODULE_HOOKS = frozenset(h.name for h in HOOKS if MODULE in h.owners)
#: Module hooks Lightning calls only when they are overridden (or never through its profiler:
#: the precision calls ``backward`` itself).
_ONLY_IF_OVERRIDDEN = frozenset(
    {
        "prepare_data",
        "configure_model",
        "configure_sharded_model",
        "on_validation_model_train",
        "on_test_model_train",
        "on_predict_model_train",
    }
)
_NOT_RECORDED = frozenset(
    {"backward", "training_step", "validation_step", "test_step", "predict_step"}
)
_LOADER_HOOKS = ("train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader")
#: Hooks Lightning also calls on the strategy, right after the module's.
_STRATEGY_HOOKS = frozenset(
    {
        "on_train_start",
        "on_train_end",
        "on_validation_start",
        "on_validation_end",
        "on_test_start",
        "on_test_end",
        "on_predict_start",
        "on_predict_end",
        "on_train_batch_start",
    }
)


def check_barebones(profiler: Any, barebones: bool) -> None:
    """barebones=True is for raw speed: no profiler with it (Lightning's error)."""
    if barebones and profiler is not None:
        raise ValueError(
            f"`Trainer(barebones=True, profiler={profiler!r})` was passed. Profiling can impact"
            " raw speed so it is disabled in barebones mode."
        )


def init_profiler(profiler: Any) -> Profiler:
    """``Trainer(profiler=...)`` as a Profiler: a name, an instance, or None (pass-through)."""
    if profiler is None:
        return PassThroughProfiler()
    if isinstance(profiler, str):
        name = profiler.lower()
        if name not in _PROFILERS:
            raise MisconfigurationException(
                "When passing string value for the `profiler` parameter of `Trainer`,"
                f" it can only be one of {list(_PROFILERS)}"
            )
        cls = _PROFILERS[name]
        if cls is None:
            raise ModuleNotFoundError(
                "Trainer(profiler='xla') profiles TPUs through torch_xla, which plkit does not"
                " support; use 'simple', 'advanced' or 'pytorch'."
            )
        made: Profiler = getattr(profilers, cls)()
        return made
    if not isinstance(profiler, Profiler):
        raise TypeError(
            f"Trainer(profiler={profiler!r}) must be 'simple', 'advanced', 'pytorch', a"
            " plkit.profilers.Profiler instance, or None."
        )
    return profiler


def setup_profiler(run: RunState) -> None:
    """Tell the profiler which run starts (Lightning: after ``configure_callbacks``)."""
    trainer = run.trainer
    profiler = trainer.profiler
    # every profiler may read the module (Lightning sets it on all; PyTorchProfiler does)
    # (a weak proxy, as Lightning's: the profiler does not keep the module alive)
    profiler._lightning_module = weakref.proxy(run.lightning_module)  # type: ignore[attr-defined]
    local_rank = run.strategy.local_rank if run.world_size > 1 else None
    assert run.state.fn is not None
    profiler.setup(stage=run.state.fn, local_rank=local_rank, log_dir=trainer.log_dir)


def is_profiling(profiler: Profiler) -> bool:
    return not isinstance(profiler, PassThroughProfiler)


def timed(profiler: Profiler, action: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` called inside ``profiler.profile(action)`` (as ``start`` / ``stop`` around it
    when the profiler keeps the base class's ``profile``: the same calls, without a generator
    per call)."""
    if type(profiler).profile is not Profiler.profile:

        def call(*args: Any, **kwargs: Any) -> Any:
            with profiler.profile(action):
                return fn(*args, **kwargs)

        return call
    start, stop = profiler.start, profiler.stop

    def call_direct(*args: Any, **kwargs: Any) -> Any:
        start(action)
        try:
            return fn(*args, **kwargs)
        finally:
            stop(action)

    return call_direct


def profiled_batches(
    batches: Iterable[Any], limit: float, profiler: Profiler, action: str
) -> Iterator[Any]:
    """At most ``limit`` items of ``batches``, each fetch timed as ``action``; stops at the
    limit without fetching more (a sized loader's end is known, so it is not fetched). As in
    Lightning, a loader of unknown length (``limit`` infinite) has its first batch fetched
    ahead when the epoch starts, untimed, and the fetch that finds its end timed."""
    iterator = iter(batches)
    count = 0
    if limit == math.inf:
        try:
            first = next(iterator)
        except StopIteration:
            return
        yield first
        count = 1
    while count < limit:
        profiler.start(action)
        try:
            batch = next(iterator)
        except StopIteration:
            return
        finally:
            profiler.stop(action)
        yield batch
        count += 1


class ProfiledDispatcher:
    """Every callback's every hook (overridden or not, as Lightning calls them), each call
    timed as ``[Callback]{state_key}.{hook}``; ``HookDispatcher``'s interface."""

    def __init__(self, callbacks: Iterable[Callback], profiler: Profiler) -> None:
        self.profiler = profiler
        self._callbacks: list[Callback] = []
        self._table: dict[str, tuple[Callable[..., Any], ...]] = {}
        self._monitors: dict[str, tuple[Callable[..., Any], ...]] = {}
        self.refresh(callbacks)

    @property
    def callbacks(self) -> list[Callback]:
        return self._callbacks

    def refresh(self, callbacks: Iterable[Callback] | None = None) -> None:
        if callbacks is not None:
            self._callbacks = list(callbacks)
        table: dict[str, list[Callable[..., Any]]] = {}
        monitors: dict[str, list[Callable[..., Any]]] = {}
        for cb in self._callbacks:
            late = bool(getattr(cb, MONITORING_CALLBACK_MARK, False))
            for name in _CALLBACK_HOOKS:
                fn = getattr(cb, name, None)
                if not callable(fn):
                    continue
                into = monitors if late and name == "on_train_epoch_end" else table
                action = f"[Callback]{cb.state_key}.{name}"
                into.setdefault(name, []).append(timed(self.profiler, action, fn))
        self._table = {k: tuple(v) for k, v in table.items()}
        self._monitors = {k: tuple(v) for k, v in monitors.items()}

    def has(self, name: str) -> bool:
        return name in self._table or name in self._monitors

    def bound(self, name: str) -> tuple[Callable[..., Any], ...]:
        return self._table.get(name, ())

    def call(self, name: str, *args: Any, **kwargs: Any) -> None:
        for fn in self._table.get(name, ()):
            fn(*args, **kwargs)

    def call_monitors(self, name: str, *args: Any) -> None:
        for fn in self._monitors.get(name, ()):
            fn(*args)


class ProfiledHookCaller(HookCaller):
    """The hook caller of a profiled run: hooks run as Lightning runs them (defaults too), each
    inside ``profiler.profile``; the strategy's hooks follow the module's."""

    def __init__(
        self,
        trainer: Trainer,
        model: LightningModule,
        callbacks: list[Callback],
        datamodule: LightningDataModule | None,
        profiler: Profiler,
        strategy: Any,
    ) -> None:
        super().__init__(trainer, model, callbacks, datamodule)
        self.profiler: Profiler = profiler
        self._timed_strategy: dict[str, Callable[..., Any]] = {}
        self.strategy = strategy
        self.dispatcher = ProfiledDispatcher(callbacks, profiler)  # type: ignore[assignment]
        self.overridden = self.overridden | (_MODULE_HOOKS - _ONLY_IF_OVERRIDDEN - _NOT_RECORDED)
        prefix = f"[LightningModule]{type(model).__name__}."
        recorded = (self.overridden - _NOT_RECORDED) | set(_LOADER_HOOKS)
        self._actions = {n: prefix + n for n in recorded}
        self.strategy_prefix = f"[Strategy]{type(strategy).__name__}."
        self._dm_prefix = f"[LightningDataModule]{type(datamodule).__name__}."
        plain = super().module
        # each recorded hook's timed call, made once
        self._timed = {n: timed(profiler, a, partial(plain, n)) for n, a in self._actions.items()}
        for name in _STRATEGY_HOOKS:
            hook = getattr(strategy, name, None)
            self._timed_strategy[name] = timed(
                profiler, self.strategy_prefix + name, hook if callable(hook) else _nothing
            )

    def module(self, name: str, *args: Any, **kwargs: Any) -> Any:
        call = self._timed.get(name)
        if call is None:
            return super().module(name, *args, **kwargs)
        out = call(*args, **kwargs)
        strategy_hook = self._timed_strategy.get(name)
        if strategy_hook is not None:
            strategy_hook(*args)
        return out

    def datamodule_call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self.profiler.profile(self._dm_prefix + name):
            return super().datamodule_call(name, *args, **kwargs)

    def datamodule_hook(self, name: str, *args: Any) -> Any:
        dm = self.datamodule
        if dm is None:
            return None
        # Lightning calls the datamodule's on_exception always, prepare_data when overridden
        if name == "on_exception" or is_overridden(dm, name, LightningDataModule):
            return self.datamodule_call(name, *args)
        return None


def _nothing(*args: Any) -> None:
    """A strategy hook this strategy does not define (Lightning's base strategy does nothing)."""


def make_hook_caller(
    trainer: Trainer,
    model: LightningModule,
    callbacks: list[Callback],
    datamodule: LightningDataModule | None,
    strategy: Any,
) -> HookCaller:
    """The run's hook caller: the profiled one only when a profiler records something."""
    profiler = trainer.profiler
    if not is_profiling(profiler):
        return HookCaller(trainer, model, callbacks, datamodule)
    return ProfiledHookCaller(trainer, model, callbacks, datamodule, profiler, strategy)


class ProfiledOptimization(Optimization):
    """The optimization of a profiled fit: ``run_training_batch`` around each batch's
    optimization, the strategy's ``training_step`` and ``backward`` timed."""

    def __init__(self, run: RunState) -> None:
        super().__init__(run)
        calls = run.hooks
        assert isinstance(calls, ProfiledHookCaller)
        profiler = self.profiler = calls.profiler
        prefix = calls.strategy_prefix
        # instance attributes over the methods: the closure's ``self.run_step`` is timed too
        self.backward = timed(profiler, prefix + "backward", self.backward)
        self.run_step = timed(profiler, prefix + "training_step", self.run_step)  # type: ignore[method-assign]
        self.run_batch = timed(profiler, "run_training_batch", self.run_batch)  # type: ignore[method-assign]
        self.run_manual = timed(profiler, "run_training_batch", self.run_step)  # type: ignore[method-assign]

    def user_step(
        self, optimizer: Any, closure: Callable[[], Any] | None = None, **kwargs: Any
    ) -> Any:
        if self.model.automatic_optimization:
            return super().user_step(optimizer, closure, **kwargs)
        with self.profiler.profile("optimizer_step"):
            return super().user_step(optimizer, closure, **kwargs)


def profiled_transfer(run: RunState) -> Callable[[Any, int], Any]:
    """The batch transfer of a profiled run: Lightning's three hooks, the datamodule's where it
    overrides them, the last two inside the strategy's ``batch_to_device``."""
    calls = run.hooks
    assert isinstance(calls, ProfiledHookCaller)
    dm, strategy, model = run.args.datamodule, run.strategy, run.lightning_module
    device = strategy.root_device

    def hook(name: str, default: Callable[..., Any] | None = None) -> Callable[..., Any]:
        if dm is not None and is_overridden(dm, name, LightningDataModule):
            return lambda *a: calls.datamodule_call(name, *a)
        if default is not None and not is_overridden(model, name, LightningModule):
            return timed(calls.profiler, calls._actions[name], default)
        return lambda *a: calls.module(name, *a)

    before = hook("on_before_batch_transfer")
    move = hook("transfer_batch_to_device", lambda b, d, i: strategy.batch_to_device(b, d))
    after = hook("on_after_batch_transfer")
    action = calls.strategy_prefix + "batch_to_device"
    profiler = calls.profiler

    def transfer(batch: Any, dataloader_idx: int) -> Any:
        batch = before(batch, dataloader_idx)
        with profiler.profile(action):
            batch = move(batch, device, dataloader_idx)
            return after(batch, dataloader_idx)

    return transfer
