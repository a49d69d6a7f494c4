"""Where each loop's loaders come from, when they are requested, and how many batches they run.

Lightning's rules: the loaders given to the entry point win, else the datamodule given to this
call, else the module's ``*_dataloader`` hook. Fit's training loader is requested after the
sanity check, its validation loaders when the sanity check or the first validation needs them,
and both again every ``reload_dataloaders_every_n_epochs``. Every loader gets its sampler here
(a ``DistributedSampler`` when several processes run) and its batch count after the
``limit_*_batches`` flags.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch.utils.data.distributed import DistributedSampler

from plcore import LightningDataModule, LightningModule
from plcore.hooks import is_overridden
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn
from plcore.utilities.warnings import PossibleUserWarning
from plkit import _console, _setup
from plkit._runstate import RunState
from plkit._state import RunningStage, TrainerFn
from plkit.loops._data import (
    CombinedLoader,
    as_loader_list,
    limit_batches,
    prepare_loader,
    set_sampler_epoch,
    sized_len,
)

__all__ = [
    "defines_val_data",
    "eval_loaders",
    "required_loaders",
    "sanity_batches",
    "setup_fit_val_data",
    "setup_train_data",
    "train_loader_for_epoch",
    "validation_enabled",
]


def _data_source(run: RunState, explicit: Any) -> Any:
    """Where a loader comes from (Lightning's rule): the loaders given to this call, else the
    datamodule given to this call, else the module."""
    if explicit is not None:  # (a datamodule given as dataloaders was moved to datamodule=)
        return explicit
    dm = run.args.datamodule
    return dm if dm is not None else run.lightning_module


def _source_defined(source: Any, hook: str) -> bool:
    """Whether ``source`` provides loaders: given loaders do, a module or datamodule must
    define ``hook``."""
    if isinstance(source, LightningModule):
        return is_overridden(source, hook, LightningModule)
    if isinstance(source, LightningDataModule):
        return is_overridden(source, hook, LightningDataModule)
    return True


def defines_val_data(run: RunState) -> bool:
    """Whether fit has validation data: loaders passed, or a ``val_dataloader`` hook defined."""
    return _source_defined(_data_source(run, run.args.val), "val_dataloader")


def validation_enabled(run: RunState) -> bool:
    """Whether fit validates (Lightning's ``enable_validation``): validation data is defined,
    the module has a ``validation_step`` and ``limit_val_batches`` is not 0."""
    return (
        defines_val_data(run)
        and is_overridden(run.lightning_module, "validation_step", LightningModule)
        and run.plan.limit_val_batches != 0
    )


def _loader_from(run: RunState, explicit: Any, hook: str) -> Any:
    """The loaders of ``hook``: those given, else what the datamodule's or the module's hook
    returns (None when the source does not define it). A hook returning None, or anything in
    them that cannot be iterated, is Lightning's ``TypeError`` naming where it came from."""
    source = _data_source(run, explicit)
    if not _source_defined(source, hook):
        return None
    if isinstance(source, (LightningModule, LightningDataModule)):
        if isinstance(source, LightningModule):
            loaders = run.hooks.module(hook)
        else:
            loaders = run.hooks.datamodule_call(hook)  # (source is the run's datamodule)
        origin = f"returned from `{type(source).__name__}.{hook}()`"
    else:
        loaders = source
        # (Lightning names this argument for fit's val_dataloaders too)
        arg = "train_dataloaders" if run.args.fn == TrainerFn.FITTING else "dataloaders"
        fn = run.args.fn.value if run.args.fn is not None else "fit"
        origin = f"passed to `Trainer.{fn}({arg}=...)`"
    _check_iterables(loaders, origin)
    return loaders


def _check_iterables(loaders: Any, origin: str) -> None:
    """Each loader in ``loaders`` (one, a sequence or a mapping of them) can be iterated."""
    if isinstance(loaders, Mapping):
        items = list(loaders.values())
    elif isinstance(loaders, (list, tuple)):
        items = list(loaders)
    else:
        items = [loaders]
    for item in items:
        if item is None or not isinstance(item, Iterable):
            raise TypeError(f"An invalid dataloader was {origin}. Found {item}.")


def _missing_loader(run: RunState, hook: str) -> MisconfigurationException:
    """Lightning's error for a loop whose data source does not define ``hook``."""
    return MisconfigurationException(
        f"`{hook}` must be implemented to be used with the Lightning Trainer"
        + "".join(
            _setup.did_you_mean(obj, base, hook)
            for obj, base in (
                (run.args.datamodule, LightningDataModule),
                (run.module, LightningModule),
            )
            if obj is not None
        )
    )


def _sampler_kwargs(run: RunState) -> dict[str, Any] | None:
    """DistributedSampler arguments when several processes run and the flag allows it."""
    if not run.plan.use_distributed_sampler:
        return None
    return run.strategy.distributed_sampler_kwargs


# --- training -----------------------------------------------------------------------------------
def setup_train_data(run: RunState) -> None:
    """The training loader, its length after limits, and when validation falls due."""
    plan, loaders = run.plan, run.loaders
    if plan.limit_train_batches == 0:  # as Lightning: the loader is not requested at all
        return
    source = _loader_from(run, run.args.train, "train_dataloader")
    if source is None:
        raise _missing_loader(run, "train_dataloader")
    _console.check_loaders(run.trainer, source, "train_dataloader")
    loader = _prepare_train(run, source)
    loaders.train = loader
    loaders.train_loaded_epoch = run.progress.epoch
    # Lightning makes the first epoch's iterator when the loader is requested (a DataLoader's
    # iterator draws its seed from the global RNG then, not at the epoch's start).
    loaders.first_train_iter = (loader, torch.get_rng_state(), iter(loader))
    # Lightning checks each training loader, then the CombinedLoader it wraps them in
    inner = loader.loaders if isinstance(loader, CombinedLoader) else [loader]
    for each in inner.values() if isinstance(inner, dict) else inner:
        _checked_len(run, each, type(each).__name__, training=True)
    length = _checked_len(run, loader, "CombinedLoader", training=True)
    loaders.num_training_batches = limit_batches(
        length, plan.limit_train_batches, "limit_train_batches"
    )
    run.schedule.training_data_loaded(plan, loaders.num_training_batches)
    _console.warn_log_interval(run.trainer)


def _prepare_train(run: RunState, source: Any) -> Any:
    kwargs = _sampler_kwargs(run)
    overfit = bool(run.plan.overfit_batches)
    if overfit:
        _warn_overfit_shuffle(source)

    def prep(loader: Any) -> Any:
        return prepare_loader(loader, training=True, sampler_kwargs=kwargs, sequential=overfit)

    if isinstance(source, dict):
        return CombinedLoader({k: prep(v) for k, v in source.items()})
    if isinstance(source, (list, tuple)):
        return CombinedLoader([prep(v) for v in as_loader_list(source, "train_dataloader")])
    as_loader_list(source, "train_dataloader")  # type check
    return prep(source)


def _warn_overfit_shuffle(source: Any) -> None:
    """overfit_batches with a training loader that is not sequential: Lightning's warning (the
    loader is then made sequential by ``prepare_loader``)."""
    if isinstance(source, dict):
        loaders = list(source.values())
    else:
        loaders = as_loader_list(source, "train_dataloader")
    samplers = [dl.sampler for dl in loaders if hasattr(dl, "sampler")]
    if not all(isinstance(s, torch.utils.data.SequentialSampler) for s in samplers):
        rank_zero_warn(
            "You requested to overfit but enabled train dataloader shuffling. We are turning off"
            " the train dataloader shuffling for you."
        )


def _due_for_reload(run: RunState, loaded_epoch: float | None) -> bool:
    """Whether loaders requested in ``loaded_epoch`` are requested again now (None: never were)."""
    if loaded_epoch is None:
        return True
    n = run.plan.reload_dataloaders_every_n_epochs
    return bool(n) and run.progress.epoch - loaded_epoch >= n


def train_loader_for_epoch(run: RunState) -> Any:
    """The epoch's training loader (requested again when due), its sampler set to the epoch."""
    if run.loaders.train is None or _due_for_reload(run, run.loaders.train_loaded_epoch):
        setup_train_data(run)
    loader = run.loaders.train
    set_sampler_epoch(loader, run.progress.epoch)
    return loader


# --- fit's validation ---------------------------------------------------------------------------
def setup_fit_val_data(run: RunState) -> None:
    """Fit's validation loaders, requested when a validation (or the sanity check) first needs
    them and again every ``reload_dataloaders_every_n_epochs``."""
    loaders = run.loaders
    loaded = loaders.val_loaded_epoch
    if loaded is not None and not _due_for_reload(run, loaded):
        return
    source = _loader_from(run, run.args.val, "val_dataloader")
    given = as_loader_list(source, "val_dataloader")
    # A sanity check before an epoch that does not validate leaves the reload clock alone.
    sanity = run.state.stage == RunningStage.SANITY_CHECKING
    if not sanity or run.schedule.due_in_epoch(run.progress.epoch):
        loaders.val_loaded_epoch = run.progress.epoch
    elif loaded is None:
        loaders.val_loaded_epoch = -math.inf
    loaders.val, loaders.fit_val_batches = eval_loaders(run, given, "limit_val_batches")


def sanity_batches(run: RunState) -> list[int | float]:
    """The sanity check's batches per loader: fit's validation capped by num_sanity_val_steps."""
    steps = run.plan.num_sanity_val_steps
    cap = math.inf if steps == -1 else steps
    return [min(cap, n) for n in run.loaders.fit_val_batches]


# --- validate / test / predict ------------------------------------------------------------------
_LOADER_NAMES = {
    "limit_val_batches": "val_dataloader",
    "limit_test_batches": "test_dataloader",
    "limit_predict_batches": "predict_dataloader",
}


def eval_loaders(
    run: RunState, loaders: list[Any], flag: str
) -> tuple[list[Any], list[int | float]]:
    """Evaluation / prediction loaders with their samplers, and the batches each may run."""
    _console.check_loaders(run.trainer, loaders, _LOADER_NAMES[flag])
    kwargs = _sampler_kwargs(run)
    loaders = [prepare_loader(dl, training=False, sampler_kwargs=kwargs) for dl in loaders]
    fn = run.state.fn
    distributed = any(
        isinstance(getattr(dl, "sampler", None), DistributedSampler) for dl in loaders
    )
    if distributed and fn in (TrainerFn.VALIDATING, TrainerFn.TESTING) and run.world_size > 1:
        rank_zero_warn(
            f"Using `DistributedSampler` with the dataloaders. During `trainer.{fn.value}()`, it is"
            " recommended to use `Trainer(devices=1, num_nodes=1)` to ensure each"
            " sample/batch gets evaluated exactly once. Otherwise, multi-device settings use"
            " `DistributedSampler` that replicates some samples to make sure all devices have"
            " same batch size in case of uneven inputs.",
            category=PossibleUserWarning,
        )
    limit = getattr(run.plan, flag)
    lengths = [_checked_len(run, dl, type(dl).__name__, training=False) for dl in loaders]
    return loaders, [limit_batches(n, limit, flag) for n in lengths]


def _checked_len(run: RunState, loader: Any, name: str, training: bool) -> float:
    """The loader's length, with Lightning's warning when it is zero on every process (a loop
    that will run nothing), and its error when only this process has none (training)."""
    local = sized_len(loader)
    if local == math.inf:
        return local
    total = local
    if run.world_size > 1:
        reduced = run.strategy.reduce(
            torch.tensor(local, device=run.strategy.root_device), reduce_op="sum"
        )
        total = float(reduced)
    if total == 0:
        rank_zero_warn(
            f"Total length of `{name}` across ranks is zero. Please make sure this was your"
            " intention."
        )
    elif local == 0 and training:
        raise RuntimeError(
            f"`{name}` within local rank has zero length. Please make sure that it returns at"
            " least 1 batch (give every process data, e.g. a dataset of at least world_size"
            " batches)."
        )
    elif local == 0:
        rank_zero_warn(
            f"Total length of `{name}` across ranks is zero, but local rank has zero length."
            " Please be cautious of uneven batch length."
        )
    return local


def required_loaders(run: RunState, fn: TrainerFn, explicit: Any, hook: str) -> list[Any]:
    """The loaders validate / test / predict need; none found is an error naming the options."""
    source = _loader_from(run, explicit, hook)
    if source is None:
        raise _missing_loader(run, hook)
    loaders = as_loader_list(source, hook)
    return loaders
