"""One run of fit / validate / test / predict inside a process, from set-up to teardown.

Order (``spec/hook-order.md``): configure_callbacks, prepare_data (local rank 0), setup
(datamodule, callbacks, module), configure_model, [checkpoint: weights and callbacks],
configure_optimizers, [checkpoint: optimizers, schedulers, loops], on_fit_start, the loop,
on_fit_end, teardown. An exception anywhere calls ``on_exception`` and finalizes the loggers
with "failed" instead of tearing down.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from typing import Any

import torch
from torch.utils.data.distributed import DistributedSampler

from plcore import LightningDataModule, LightningModule
from plcore.hooks import is_overridden
from plcore.optimizer import LightningOptimizer
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.parsing import clean_namespace
from plcore.utilities.rank_zero import rank_zero_warn
from plcore.utilities.seed import set_rng_states
from plcore.utilities.warnings import PossibleUserWarning
from plkit import _checkpointing, _console, _setup
from plkit._calls import HookCaller
from plkit._optimizers import check_for_mode, parse_optimizers
from plkit._preemption import newest_hpc_checkpoint
from plkit._state import RunningStage, TrainerFn, TrainerStatus
from plkit.loops import evaluation
from plkit.loops._data import (
    CombinedLoader,
    as_loader_list,
    limit_batches,
    prepare_loader,
    set_sampler_epoch,
    sized_len,
)
from plkit.loops._steps import step_caller
from plkit.loops.fit import run_fit
from plkit.loops.prediction import run_prediction

__all__ = [
    "adopt_spawned_outcome",
    "interrupt",
    "spawned_outcome",
    "run_stage",
    "setup_train_data",
    "train_iterator",
    "train_loader_for_epoch",
]

_TRANSFER_HOOKS = (
    "on_before_batch_transfer",
    "transfer_batch_to_device",
    "on_after_batch_transfer",
)


# ---------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------
def run_stage(trainer: Any, fn: TrainerFn, ckpt_path: Any, data: dict[str, Any]) -> Any:
    model, dm = trainer.lightning_module, trainer.datamodule
    stage = str(fn)
    clean_namespace(model.hparams)  # unpicklable values leave, with a warning (as in Lightning)
    if trainer.world_size > 1:  # one process: no reduction at all (the store's sync stays None)
        trainer._metrics.set_sync(trainer.strategy.reduce)
    _agree_on_logger_versions(trainer)
    trainer._callbacks = _setup.merge_configured_callbacks(trainer._callbacks, model)
    calls = trainer._calls = HookCaller(trainer, model, trainer._callbacks, dm)
    _setup.check_loop_configuration(model, fn)
    if fn == TrainerFn.FITTING:
        _console.warn_val_loop_mismatch(model, _defines_val_data(trainer))
    _check_removed_hooks(model, fn)
    _prepare_data(trainer, calls)
    if dm is not None:
        dm.setup(stage)
    calls.callbacks("setup", stage)
    calls.module("setup", stage)
    calls.module_if("configure_model")
    _setup_model(trainer)
    path = _select_ckpt_path(trainer, fn, ckpt_path)
    checkpoint = trainer.strategy.load_checkpoint(path) if path else None
    trainer.ckpt_path = path
    if checkpoint is not None:
        _checkpointing.restore_model_and_callbacks(trainer, checkpoint)
    _console.cuda_rank_line(trainer)  # where Lightning's strategy sets the accelerator up
    trainer._metrics.begin_run()  # each entry point starts with empty metrics, as in Lightning
    _log_hyperparams(trainer)
    if fn == TrainerFn.FITTING:
        result = _fit(trainer, checkpoint)
        if trainer._preempted:  # no teardown hooks: the run is not over, it will resume
            _finalize_loggers(trainer, "interrupted")
            trainer.strategy.teardown()
            return None
    elif fn == TrainerFn.PREDICTING:
        result = _predict(trainer, data)
    else:
        result = _evaluate(trainer, fn, data)
    if dm is not None:
        dm.teardown(stage)
    calls.callbacks("teardown", stage)
    calls.module("teardown", stage)
    _finalize_loggers(trainer, "success")
    trainer.strategy.teardown()
    return result


def _defines_val_data(trainer: Any) -> bool:
    """Whether fit has validation data: loaders passed, or a ``val_dataloader`` hook defined."""
    return _source_defined(_data_source(trainer, trainer._fit_data.get("val")), "val_dataloader")


def _data_source(trainer: Any, explicit: Any) -> Any:
    """Where a loader comes from (Lightning's rule): the loaders given to this call, else the
    datamodule given to this call, else the module."""
    if explicit is not None:  # (a datamodule given as dataloaders was moved to datamodule=)
        return explicit
    return trainer._data_dm if trainer._data_dm is not None else trainer.lightning_module


def _source_defined(source: Any, hook: str) -> bool:
    """Whether ``source`` provides loaders: given loaders do, a module or datamodule must
    define ``hook``."""
    if isinstance(source, LightningModule):
        return is_overridden(source, hook, LightningModule)
    if isinstance(source, LightningDataModule):
        return is_overridden(source, hook, LightningDataModule)
    return True


#: The entry points that refuse a module defining each of ``plcore.hooks.REMOVED_HOOKS``.
_REMOVED_HOOKS = {
    "training_epoch_end": (TrainerFn.FITTING,),
    "validation_epoch_end": (TrainerFn.FITTING, TrainerFn.VALIDATING),
    "test_epoch_end": (TrainerFn.TESTING,),
}


def _check_removed_hooks(model: LightningModule, fn: TrainerFn) -> None:
    """A 1.x ``*_epoch_end`` hook would silently never run: refuse it, as Lightning does."""
    for name, fns in _REMOVED_HOOKS.items():
        if fn in fns and callable(getattr(model, name, None)):
            raise NotImplementedError(
                f"Support for `{name}` has been removed in v2.0.0. `{type(model).__name__}` "
                f"implements this method. You can use the `on_{name.replace('training', 'train')}`"
                " hook instead. To access outputs, save them in-memory as instance attributes."
            )


def _agree_on_logger_versions(trainer: Any) -> None:
    """Every rank uses rank 0's logger version (each would otherwise scan the folder itself)."""
    if trainer.world_size == 1:
        return
    for logger in trainer.loggers:
        if hasattr(logger, "_version"):
            logger._version = trainer.strategy.broadcast(logger.version, src=0)


def _prepare_data(trainer: Any, calls: HookCaller) -> None:
    if trainer.local_rank == 0:
        if trainer.datamodule is not None:
            trainer.datamodule.prepare_data()
        calls.module("prepare_data")
    trainer.strategy.barrier("prepare_data")


def _setup_model(trainer: Any) -> None:
    """Move and wrap the module; choose how batches reach the device."""
    model, strategy = trainer.lightning_module, trainer.strategy
    if strategy.world_size > 1:
        wrapped = strategy.setup_module(_TrainingStepRouter(model))
        trainer._forward_module = wrapped
    else:
        strategy.setup_module(model)
        trainer._forward_module = step_caller(model.training_step)
    trainer._batch_transfer = _make_transfer(trainer)


class _TrainingStepRouter(torch.nn.Module):
    """Makes ``training_step`` the forward of a module, so DDP's forward bookkeeping applies."""

    def __init__(self, module: LightningModule) -> None:
        super().__init__()
        self.module = module
        self._step = step_caller(module.training_step)  # without batch_idx if it takes none

    def forward(self, batch: Any, batch_idx: int) -> Any:
        return self._step(batch, batch_idx)


def _make_transfer(trainer: Any) -> Any:
    model, dm, strategy = trainer.lightning_module, trainer._data_dm, trainer.strategy
    owners = {}
    both = []  # hooks the datamodule's override wins over the module's: said at first use
    for name in _TRANSFER_HOOKS:
        if dm is not None and is_overridden(dm, name, LightningDataModule):
            owners[name] = getattr(dm, name)
            if is_overridden(model, name, LightningModule):
                both.append(name)
        elif is_overridden(model, name, LightningModule):
            owners[name] = lambda *a, _n=name: trainer._calls.module(_n, *a)
    device = strategy.root_device
    if not owners:
        if device.type == "cpu" and not getattr(strategy.precision, "converts_input", False):
            return lambda batch, dataloader_idx: batch
        return lambda batch, dataloader_idx: strategy.batch_to_device(batch)
    before = owners.get("on_before_batch_transfer", lambda b, i: b)
    move = owners.get("transfer_batch_to_device", lambda b, d, i: strategy.batch_to_device(b, d))
    after = owners.get("on_after_batch_transfer", lambda b, i: b)

    def transfer(batch: Any, dataloader_idx: int) -> Any:
        batch = before(batch, dataloader_idx)
        batch = move(batch, device, dataloader_idx)
        return after(batch, dataloader_idx)

    if not both:
        return transfer
    warned = False

    def first_transfer(batch: Any, dataloader_idx: int) -> Any:
        """``transfer`` that warns on its first call, as Lightning does when the hooks first run;
        later loops get ``transfer`` itself."""
        nonlocal warned
        if not warned:
            warned = True
            trainer._batch_transfer = transfer
            for name in both:
                rank_zero_warn(
                    f"You have overridden `{name}` in both `LightningModule` and "
                    "`LightningDataModule`. It will use the implementation from "
                    "`LightningDataModule` instance."
                )
        return transfer(batch, dataloader_idx)

    return first_transfer


def _select_ckpt_path(trainer: Any, fn: TrainerFn, ckpt_path: Any) -> str | None:
    if ckpt_path is None and fn != TrainerFn.FITTING and trainer._model_connected_only:
        # validate / test / predict without a model, after fit: its best checkpoint (Lightning)
        ckpt_path = "best"
        rank_zero_warn(
            f"`.{fn}(ckpt_path=None)` was called without a model. The best model of the previous"
            f" `fit` call will be used. You can pass `.{fn}(ckpt_path='best')` to use the best"
            f" model or `.{fn}(ckpt_path='last')` to use the last model. If you pass a value,"
            " this warning will be silenced."
        )
    if ckpt_path is None and fn == TrainerFn.FITTING:
        hpc = newest_hpc_checkpoint(trainer.default_root_dir)  # left by a preempted run
        if hpc is not None:
            return hpc
        if trainer._resume == "auto":
            ckpt_path = "auto"
    return _checkpointing.resolve_ckpt_path(trainer, ckpt_path, str(fn))


def _log_hyperparams(trainer: Any) -> None:
    """Lightning's start-of-run logger calls: ``log_hyperparams`` (when the module or the
    datamodule saved hyper-parameters), ``log_graph`` and ``save``, on every logger."""
    if not trainer.loggers:
        return
    params = _hparams_to_log(trainer.lightning_module, trainer.datamodule)
    if not trainer.is_global_zero:
        return
    for logger in trainer.loggers:
        if params is not None:
            logger.log_hyperparams(params)
        if hasattr(logger, "log_graph"):  # each logger decides (TensorBoard: log_graph=True)
            logger.log_graph(trainer.lightning_module)
        if hasattr(logger, "save"):
            logger.save()


def _hparams_to_log(model: Any, dm: Any) -> dict[str, Any] | None:
    """The module's and the datamodule's initial hyper-parameters, merged (None: neither saved
    any); a key both hold with different values is a RuntimeError, as in Lightning."""
    from_model = bool(getattr(model, "_log_hyperparams", False))
    from_dm = dm is not None and bool(getattr(dm, "_log_hyperparams", False))
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


def _finalize_loggers(trainer: Any, status: str) -> None:
    for logger in trainer.loggers:
        if hasattr(logger, "finalize"):
            logger.finalize(status)


def interrupt(trainer: Any, err: BaseException) -> None:
    """A failed or interrupted run: on_exception hooks, loggers "failed", no teardown hooks."""
    trainer.state.status = TrainerStatus.INTERRUPTED
    trainer._metrics.discard_unmerged()  # the failed step's values never reach the views
    calls = trainer._calls
    try:
        if calls is not None:
            calls.callbacks("on_exception", err)
            calls.datamodule_hook("on_exception", err)
        _finalize_loggers(trainer, "failed")
    finally:
        trainer.strategy.teardown()


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------
def _setup_optimizers(trainer: Any) -> None:
    model = trainer.lightning_module
    optimizers, configs = parse_optimizers(trainer._calls.module("configure_optimizers"))
    check_for_mode(optimizers, configs, model.automatic_optimization)
    if not model.automatic_optimization:
        plan = trainer._plan
        for flag, value, default in (
            ("accumulate_grad_batches", plan.accumulate_grad_batches, 1),
            ("gradient_clip_val", plan.gradient_clip_val, None),
        ):
            if value != default:
                raise MisconfigurationException(
                    f"Trainer({flag}={value}) is not supported with manual optimization: remove it "
                    "and accumulate or clip in training_step (self.clip_gradients(opt, ...))."
                )
    trainer.optimizers = optimizers
    trainer.lr_scheduler_configs = configs
    trainer._lightning_optimizers = [
        LightningOptimizer(opt, trainer._optimizer_step) for opt in optimizers
    ]
    for lopt in trainer._lightning_optimizers:
        lopt._module = model


def _fit(trainer: Any, checkpoint: dict[str, Any] | None) -> None:
    calls, plan = trainer._calls, trainer._plan
    _setup_optimizers(trainer)
    if checkpoint is not None:
        _checkpointing.restore_training_state(trainer, checkpoint)
    calls.both("on_fit_start")
    # The loaders are requested later, as in Lightning: validation's when the sanity check or
    # the first validation runs, training's after the sanity check.
    trainer._validation_enabled = _validation_enabled(trainer)
    trainer._deadline = (
        None if plan.max_time is None else time.monotonic() + plan.max_time.total_seconds()
    )
    # set_detect_anomaly, as Lightning: detect_anomaly() would also warn that it is on
    anomaly = (
        torch.autograd.set_detect_anomaly(True) if plan.detect_anomaly else contextlib.nullcontext()
    )
    with anomaly:
        run_fit(trainer)
    if not trainer._preempted:
        calls.both("on_fit_end")


def _loader_from(trainer: Any, explicit: Any, hook: str) -> Any:
    """The loaders of ``hook``: those given, else what the datamodule's or the module's hook
    returns (None when the source does not define it)."""
    source = _data_source(trainer, explicit)
    if not _source_defined(source, hook):
        return None
    if isinstance(source, LightningModule):
        return trainer._calls.module(hook)
    if isinstance(source, LightningDataModule):
        return getattr(source, hook)()
    return source


def reset_loaders(trainer: Any) -> None:
    """Every entry point requests its loaders afresh (``trainer.train_dataloader`` is None after
    validate / test / predict, as in Lightning); the batch counts stay until replaced."""
    trainer._train_loader = trainer._first_train_iter = None
    trainer._val_loaders = []
    trainer._train_loaded_epoch = trainer._val_loaded_epoch = None


def setup_train_data(trainer: Any) -> None:
    """The training loader, its length after limits, and when validation falls due."""
    plan = trainer._plan
    if plan.limit_train_batches == 0:  # as Lightning: the loader is not requested at all
        return
    source = _loader_from(trainer, trainer._fit_data.get("train"), "train_dataloader")
    if source is None:
        raise MisconfigurationException(
            "No training data: pass train_dataloaders to trainer.fit, use a datamodule with a "
            "train_dataloader, or define train_dataloader() on the model."
        )
    _console.check_loaders(trainer, source, "train_dataloader")
    loader = _prepare_train(trainer, source)
    trainer._train_loader = loader
    trainer._train_loaded_epoch = trainer.current_epoch
    # Lightning makes the first epoch's iterator when the loader is requested (a DataLoader's
    # iterator draws its seed from the global RNG then, not at the epoch's start).
    trainer._first_train_iter = (loader, torch.get_rng_state(), iter(loader))
    trainer.num_training_batches = limit_batches(
        sized_len(loader), plan.limit_train_batches, "limit_train_batches"
    )
    trainer.val_check_batch = _val_check_batch(plan, trainer.num_training_batches)
    _console.warn_log_interval(trainer)


def _sampler_kwargs(trainer: Any) -> dict[str, Any] | None:
    """DistributedSampler arguments when several processes run and the flag allows it."""
    if not trainer._plan.use_distributed_sampler:
        return None
    return trainer.strategy.distributed_sampler_kwargs


_LOADER_NAMES = {
    "limit_val_batches": "val_dataloader",
    "limit_test_batches": "test_dataloader",
    "limit_predict_batches": "predict_dataloader",
}


def _eval_loaders(
    trainer: Any, loaders: list[Any], flag: str
) -> tuple[list[Any], list[int | float]]:
    """Evaluation / prediction loaders with their samplers, and the batches each may run."""
    _console.check_loaders(trainer, loaders, _LOADER_NAMES[flag])
    kwargs = _sampler_kwargs(trainer)
    loaders = [prepare_loader(dl, training=False, sampler_kwargs=kwargs) for dl in loaders]
    fn = trainer.state.fn
    distributed = any(
        isinstance(getattr(dl, "sampler", None), DistributedSampler) for dl in loaders
    )
    if distributed and fn in (TrainerFn.VALIDATING, TrainerFn.TESTING) and trainer.world_size > 1:
        rank_zero_warn(
            f"Using `DistributedSampler` with the dataloaders. During `trainer.{fn}()`, it is"
            " recommended to use `Trainer(devices=1, num_nodes=1)` to ensure each"
            " sample/batch gets evaluated exactly once. Otherwise, multi-device settings use"
            " `DistributedSampler` that replicates some samples to make sure all devices have"
            " same batch size in case of uneven inputs.",
            category=PossibleUserWarning,
        )
    limit = getattr(trainer._plan, flag)
    return loaders, [limit_batches(sized_len(dl), limit, flag) for dl in loaders]


def _required_loaders(trainer: Any, fn: TrainerFn, explicit: Any, hook: str) -> list[Any]:
    loaders = as_loader_list(_loader_from(trainer, explicit, hook), hook)
    if not loaders:
        raise MisconfigurationException(
            f"trainer.{fn}() found no data: pass dataloaders=..., a datamodule with "
            f"{hook}(), or define {hook}() on the model."
            + "".join(
                _setup.did_you_mean(obj, base, hook)
                for obj, base in (
                    (trainer.datamodule, LightningDataModule),
                    (trainer.lightning_module, LightningModule),
                )
                if obj is not None
            )
        )
    return loaders


def _prepare_train(trainer: Any, source: Any) -> Any:
    kwargs = _sampler_kwargs(trainer)
    overfit = bool(trainer._plan.overfit_batches)
    if overfit:
        _warn_overfit_shuffle(source)
    prep = lambda loader: prepare_loader(  # noqa: E731
        loader,
        training=True,
        sampler_kwargs=kwargs,
        sequential=overfit,
    )
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


def _val_check_batch(plan: Any, num_batches: float) -> int | float:
    vci = plan.val_check_interval
    if isinstance(vci, int):
        if (
            plan.check_val_every_n_epoch is not None
            and num_batches != math.inf
            and vci > num_batches
        ):
            raise ValueError(
                f"Trainer(val_check_interval={vci}) must be <= the number of training batches "
                f"({int(num_batches)}). To validate every {vci} batches across epochs, set "
                "check_val_every_n_epoch=None; to disable validation, set limit_val_batches=0."
            )
        return vci
    if num_batches == math.inf:
        if vci != 1.0:
            raise ValueError(
                f"Trainer(val_check_interval={vci}) is a fraction of an epoch, but the training "
                "data has no length. Pass an int number of batches instead."
            )
        return math.inf
    return max(1, int(num_batches * vci))


def _validation_enabled(trainer: Any) -> bool:
    """Whether fit validates (Lightning's ``enable_validation``): validation data is defined,
    the module has a ``validation_step`` and ``limit_val_batches`` is not 0."""
    return (
        _defines_val_data(trainer)
        and is_overridden(trainer.lightning_module, "validation_step", LightningModule)
        and trainer._plan.limit_val_batches != 0
    )


def _due_for_reload(trainer: Any, loaded_epoch: float | None) -> bool:
    """Whether loaders requested in ``loaded_epoch`` are requested again now (None: never were)."""
    if loaded_epoch is None:
        return True
    n = trainer._plan.reload_dataloaders_every_n_epochs
    return bool(n) and trainer.current_epoch - loaded_epoch >= n


def setup_fit_val_data(trainer: Any) -> None:
    """Fit's validation loaders, requested when a validation (or the sanity check) first needs
    them and again every ``reload_dataloaders_every_n_epochs``."""
    loaded = trainer._val_loaded_epoch
    if loaded is not None and not _due_for_reload(trainer, loaded):
        return
    source = _loader_from(trainer, trainer._fit_data.get("val"), "val_dataloader")
    loaders = as_loader_list(source, "val_dataloader")
    # A sanity check before an epoch that does not validate leaves the reload clock alone.
    if not trainer.sanity_checking or trainer._val_due_this_epoch():
        trainer._val_loaded_epoch = trainer.current_epoch
    elif loaded is None:
        trainer._val_loaded_epoch = -math.inf
    trainer._val_loaders, trainer.num_val_batches = _eval_loaders(
        trainer, loaders, "limit_val_batches"
    )


def train_loader_for_epoch(trainer: Any) -> Any:
    if trainer._train_loader is None or _due_for_reload(trainer, trainer._train_loaded_epoch):
        setup_train_data(trainer)
    loader = trainer._train_loader
    set_sampler_epoch(loader, trainer.current_epoch)
    return loader


def _skip(iterator: Any, count: int) -> None:
    """Advance past ``count`` batches; without workers only the indices are drawn, not the data."""
    sampler_iter = getattr(iterator, "_sampler_iter", None)
    if sampler_iter is not None and getattr(iterator, "_num_workers", 1) == 0:
        for _ in range(count):
            next(sampler_iter)
        iterator._num_yielded += count
        return
    for _ in range(count):
        next(iterator)


def _warn_if_inexact(loader: Any) -> None:
    """Exact mid-epoch resume needs an order plkit can replay; say once when it cannot."""
    from torch.utils.data import DataLoader, RandomSampler, SequentialSampler
    from torch.utils.data.distributed import DistributedSampler

    if not isinstance(loader, DataLoader):
        reason = f"the training data is a {type(loader).__name__}, not a DataLoader"
    elif isinstance(loader.dataset, torch.utils.data.IterableDataset):
        reason = "an IterableDataset is replayed from its start and its first batches skipped"
    else:
        sampler = loader.sampler
        if isinstance(sampler, RandomSampler) and sampler.generator is not None:
            reason = "the RandomSampler has its own generator, whose state is not in the checkpoint"
        elif isinstance(sampler, (RandomSampler, SequentialSampler, DistributedSampler)):
            return
        else:
            reason = f"the sampler {type(sampler).__name__} has no state plkit can restore"
    import warnings

    warnings.warn(
        f"Resuming in the middle of an epoch: {reason}, so the rest of this epoch may see "
        "different batches than the interrupted run would have. Training continues.",
        UserWarning,
        stacklevel=3,
    )


def train_iterator(trainer: Any, loader: Any, start: int) -> Any:
    """``(batch_idx, batch, is_last)`` from ``start``, replaying the epoch's order on resume."""
    progress = trainer._progress
    first, trainer._first_train_iter = trainer._first_train_iter, None
    if trainer._pending_rng is not None and not start:  # resumed at an epoch boundary
        set_rng_states(trainer._pending_rng)
        trainer._pending_rng = None
        first = None  # the checkpoint's RNG decides this epoch's order
    if start and progress.epoch_rng is not None:  # replay the epoch's shuffle, then skip
        torch.set_rng_state(progress.epoch_rng)
        iterator = iter(loader)
    elif first is not None and first[0] is loader:  # the iterator made when it was requested
        progress.epoch_rng, iterator = first[1], first[2]
    else:
        progress.epoch_rng = torch.get_rng_state()
        iterator = iter(loader)
    if start:
        _warn_if_inexact(loader)
        _skip(iterator, start)
    if trainer._pending_rng is not None:  # continue exactly where the checkpoint was taken
        set_rng_states(trainer._pending_rng)
        trainer._pending_rng = None
    return _with_last(iterator, start, trainer.num_training_batches)


def _with_last(iterator: Any, start: int, total: float) -> Any:
    idx = start
    if total != math.inf:
        last = int(total) - 1
        for batch in iterator:
            if idx > last:
                return
            yield idx, batch, idx == last
            idx += 1
        return
    try:
        upcoming = next(iterator)
    except StopIteration:
        return
    while True:
        batch = upcoming
        try:
            upcoming = next(iterator)
        except StopIteration:
            yield idx, batch, True
            return
        yield idx, batch, False
        idx += 1


# ---------------------------------------------------------------------------------------------
# validate / test / predict
# ---------------------------------------------------------------------------------------------
def _evaluate(trainer: Any, fn: TrainerFn, data: dict[str, Any]) -> list[dict[str, float]]:
    testing = fn == TrainerFn.TESTING
    hook = "test_dataloader" if testing else "val_dataloader"
    flag = "limit_test_batches" if testing else "limit_val_batches"
    if getattr(trainer._plan, flag) == 0:  # as Lightning: no loader requested, no hook run
        return []
    loaders = _required_loaders(trainer, fn, data.get("test" if testing else "val"), hook)
    loaders, limits = _eval_loaders(trainer, loaders, flag)
    if testing:
        trainer.num_test_batches = limits
    else:
        trainer._val_loaders, trainer.num_val_batches = loaders, limits
    if not sum(limits):  # no batches to run: no hooks either, as in Lightning
        return []
    stage = RunningStage.TESTING if testing else RunningStage.VALIDATING
    results = evaluation.run_evaluation(trainer, stage, loaders, limits)
    if data.get("verbose") and trainer.is_global_zero:
        _console.print_results(results, str(fn))
    return results


def _predict(trainer: Any, data: dict[str, Any]) -> Any:
    if trainer._plan.limit_predict_batches == 0:  # as Lightning: nothing requested or run
        return None
    loaders = _required_loaders(
        trainer, TrainerFn.PREDICTING, data.get("predict"), "predict_dataloader"
    )
    loaders, limits = _eval_loaders(trainer, loaders, "limit_predict_batches")
    trainer.num_predict_batches = limits
    if not sum(limits):  # no batches to run: no hooks either, as in Lightning
        return None
    keep = data.get("return_predictions", True)
    outputs = run_prediction(trainer, loaders, limits, keep)
    if not keep:
        return None
    return outputs[0] if len(outputs) == 1 else outputs


# ---------------------------------------------------------------------------------------------
# spawned ranks
# ---------------------------------------------------------------------------------------------
def spawned_outcome(trainer: Any, result: Any) -> dict[str, Any] | None:
    """What rank 0 of a spawned job sends back: results, weights, metrics, progress, callbacks."""
    if not trainer.is_global_zero:
        return None
    model = trainer.lightning_module
    outcome = {
        "result": result,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "callback_metrics": {k: v.detach().cpu() for k, v in trainer.callback_metrics.items()},
        "logged_metrics": {k: v.detach().cpu() for k, v in trainer.logged_metrics.items()},
        "progress": trainer._progress,
        "callbacks": [cb.state_dict() for cb in trainer.callbacks],
        "status": trainer.state.status,
    }
    # Bytes, not tensors: tensors sent through a multiprocessing queue are shared by file
    # descriptor, which breaks once this process exits before the parent reads them.
    buffer = io.BytesIO()
    torch.save(outcome, buffer)
    return buffer.getvalue()


def adopt_spawned_outcome(trainer: Any, payload: bytes | None) -> Any:
    """Copy rank 0's outcome into the launching process, as if it had run here."""
    if payload is None:
        return None
    # our own child's bytes, not a file from elsewhere: full unpickling is safe here
    outcome = torch.load(io.BytesIO(payload), weights_only=False)
    trainer.lightning_module.load_state_dict(outcome["state_dict"])
    trainer._metrics.callback_metrics.update(outcome["callback_metrics"])
    trainer._metrics.logged_metrics.update(outcome["logged_metrics"])
    trainer._progress = outcome["progress"]
    for cb, state in zip(trainer.callbacks, outcome["callbacks"]):
        if state:
            if "dirpath" in state and hasattr(cb, "dirpath"):
                cb.dirpath = state["dirpath"]  # set up in the rank, not here
            cb.load_state_dict(state)
    trainer.state.status = outcome["status"]
    return outcome["result"]
