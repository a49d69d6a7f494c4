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

from plcore import LightningDataModule, LightningModule
from plcore.hooks import is_overridden
from plcore.optimizer import LightningOptimizer
from plcore.utilities.seed import set_rng_states
from plkit import _checkpointing, _setup
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
    sized_len,
)
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
    if trainer.world_size > 1:  # one process: no reduction at all (the store's sync stays None)
        trainer._metrics.set_sync(trainer.strategy.reduce)
    _agree_on_logger_versions(trainer)
    trainer._callbacks = _setup.merge_configured_callbacks(trainer._callbacks, model)
    calls = trainer._calls = HookCaller(trainer, model, trainer._callbacks, dm)
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
        trainer._forward_module = model.training_step
    trainer._batch_transfer = _make_transfer(trainer)


class _TrainingStepRouter(torch.nn.Module):
    """Makes ``training_step`` the forward of a module, so DDP's forward bookkeeping applies."""

    def __init__(self, module: LightningModule) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module.training_step(*args, **kwargs)


def _make_transfer(trainer: Any) -> Any:
    model, dm, strategy = trainer.lightning_module, trainer.datamodule, trainer.strategy
    owners = {}
    for name in _TRANSFER_HOOKS:
        if dm is not None and is_overridden(dm, name, LightningDataModule):
            owners[name] = getattr(dm, name)
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

    return transfer


def _select_ckpt_path(trainer: Any, fn: TrainerFn, ckpt_path: Any) -> str | None:
    if ckpt_path is None and fn == TrainerFn.FITTING:
        hpc = newest_hpc_checkpoint(trainer.default_root_dir)  # left by a preempted run
        if hpc is not None:
            return hpc
        if trainer._resume == "auto":
            ckpt_path = "auto"
    return _checkpointing.resolve_ckpt_path(trainer, ckpt_path, str(fn))


def _log_hyperparams(trainer: Any) -> None:
    if not trainer.loggers or not trainer.is_global_zero:
        return
    params: dict[str, Any] = {}
    for obj in (trainer.lightning_module, trainer.datamodule):
        if (
            obj is not None
            and getattr(obj, "_log_hyperparams", False)
            and getattr(obj, "_hparams", None)
        ):
            params.update(dict(obj._hparams))
    for logger in trainer.loggers:
        if params:
            logger.log_hyperparams(params)
        if hasattr(logger, "log_graph") and getattr(logger, "_log_graph", False):
            logger.log_graph(trainer.lightning_module)
        if hasattr(logger, "save"):
            logger.save()


def _finalize_loggers(trainer: Any, status: str) -> None:
    for logger in trainer.loggers:
        if hasattr(logger, "finalize"):
            logger.finalize(status)


def interrupt(trainer: Any, err: BaseException) -> None:
    """A failed or interrupted run: on_exception hooks, loggers "failed", no teardown hooks."""
    trainer.state.status = TrainerStatus.INTERRUPTED
    calls = trainer._calls
    try:
        if calls is not None:
            calls.callbacks("on_exception", err)
            calls.module("on_exception", err)
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
                raise ValueError(
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
    setup_train_data(trainer)
    _setup_val_data(trainer)
    trainer._deadline = (
        None if plan.max_time is None else time.monotonic() + plan.max_time.total_seconds()
    )
    anomaly = torch.autograd.detect_anomaly() if plan.detect_anomaly else contextlib.nullcontext()
    with anomaly:
        run_fit(trainer)
    if not trainer._preempted:
        calls.both("on_fit_end")


def _loader_from(trainer: Any, explicit: Any, hook: str) -> Any:
    if explicit is not None:  # (a datamodule given as dataloaders was moved to datamodule=)
        return explicit
    dm = trainer.datamodule
    if dm is not None and hasattr(dm, hook):
        return getattr(dm, hook)()
    model = trainer.lightning_module
    if hasattr(model, hook):
        return trainer._calls.module(hook)
    return None


def setup_train_data(trainer: Any) -> None:
    """The training loader, its length after limits, and when validation falls due."""
    plan = trainer._plan
    source = _loader_from(trainer, trainer._fit_data.get("train"), "train_dataloader")
    if source is None:
        raise ValueError(
            "No training data: pass train_dataloaders to trainer.fit, use a datamodule with a "
            "train_dataloader, or define train_dataloader() on the model."
        )
    loader = _prepare_train(trainer, source)
    trainer._train_loader = loader
    trainer.num_training_batches = limit_batches(
        sized_len(loader), plan.limit_train_batches, "limit_train_batches"
    )
    trainer.val_check_batch = _val_check_batch(plan, trainer.num_training_batches)


def _sampler_kwargs(trainer: Any) -> dict[str, Any] | None:
    """DistributedSampler arguments when several processes run and the flag allows it."""
    if not trainer._plan.use_distributed_sampler:
        return None
    return trainer.strategy.distributed_sampler_kwargs


def _eval_loaders(trainer: Any, loaders: list[Any], flag: str) -> tuple[list[Any], list[float]]:
    """Evaluation / prediction loaders with their samplers, and the batches each may run."""
    kwargs = _sampler_kwargs(trainer)
    loaders = [prepare_loader(dl, shuffle_default=False, sampler_kwargs=kwargs) for dl in loaders]
    limit = getattr(trainer._plan, flag)
    return loaders, [limit_batches(sized_len(dl), limit, flag) for dl in loaders]


def _required_loaders(trainer: Any, fn: TrainerFn, explicit: Any, hook: str) -> list[Any]:
    loaders = as_loader_list(_loader_from(trainer, explicit, hook), hook)
    if not loaders:
        raise ValueError(
            f"trainer.{fn}() found no data: pass dataloaders=..., a datamodule with "
            f"{hook}(), or define {hook}() on the model."
        )
    return loaders


def _prepare_train(trainer: Any, source: Any) -> Any:
    kwargs = _sampler_kwargs(trainer)
    prep = lambda loader: prepare_loader(  # noqa: E731
        loader,
        shuffle_default=True,
        sampler_kwargs=kwargs,
        sequential=bool(trainer._plan.overfit_batches),
    )
    if isinstance(source, dict):
        return CombinedLoader({k: prep(v) for k, v in source.items()})
    if isinstance(source, (list, tuple)):
        return CombinedLoader([prep(v) for v in as_loader_list(source, "train_dataloader")])
    as_loader_list(source, "train_dataloader")  # type check
    return prep(source)


def _val_check_batch(plan: Any, num_batches: float) -> float:
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
        return float(vci)
    if num_batches == math.inf:
        if vci != 1.0:
            raise ValueError(
                f"Trainer(val_check_interval={vci}) is a fraction of an epoch, but the training "
                "data has no length. Pass an int number of batches instead."
            )
        return math.inf
    return float(max(1, int(num_batches * vci)))


def _setup_val_data(trainer: Any) -> None:
    model = trainer.lightning_module
    source = _loader_from(trainer, trainer._fit_data.get("val"), "val_dataloader")
    loaders = as_loader_list(source, "val_dataloader")
    has_step = is_overridden(model, "validation_step", LightningModule)
    if loaders and not has_step:
        import warnings

        warnings.warn(
            "Validation data was given but the model has no `validation_step`; "
            "validation is skipped.",
            UserWarning,
            stacklevel=4,
        )
    if not has_step:
        loaders = []
    trainer._val_loaders, trainer.num_val_batches = _eval_loaders(
        trainer, loaders, "limit_val_batches"
    )
    trainer._validation_enabled = bool(loaders) and sum(trainer.num_val_batches) > 0


def train_loader_for_epoch(trainer: Any) -> Any:
    n = trainer._plan.reload_dataloaders_every_n_epochs
    if n and trainer.current_epoch > 0 and trainer.current_epoch % n == 0:
        setup_train_data(trainer)
        _setup_val_data(trainer)
    loader = trainer._train_loader
    for sampler in (
        getattr(loader, "sampler", None),
        getattr(getattr(loader, "batch_sampler", None), "sampler", None),
    ):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(trainer.current_epoch)
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
    if trainer._pending_rng is not None and not start:  # resumed at an epoch boundary
        set_rng_states(trainer._pending_rng)
        trainer._pending_rng = None
    if start and progress.epoch_rng is not None:  # replay the epoch's shuffle, then skip
        torch.set_rng_state(progress.epoch_rng)
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
    loaders = _required_loaders(trainer, fn, data.get("test" if testing else "val"), hook)
    loaders, limits = _eval_loaders(trainer, loaders, flag)
    if testing:
        trainer.num_test_batches = limits
    else:
        trainer._val_loaders, trainer.num_val_batches = loaders, limits
    stage = RunningStage.TESTING if testing else RunningStage.VALIDATING
    results = evaluation.run_evaluation(trainer, stage, loaders, limits)
    if data.get("verbose") and trainer.is_global_zero:
        _print_results(str(fn), results)
    return results


def _print_results(fn: str, results: list[dict[str, float]]) -> None:
    keys = sorted({k for r in results for k in r})
    if not keys:
        return
    title = {"validate": "Validate metric", "test": "Test metric"}[fn]
    cols = [f"DataLoader {i}" for i in range(len(results))]
    width = max(len(title), *(len(k) for k in keys)) + 2
    line = "─" * (width + 16 * len(cols))
    print(line)
    print(title.center(width) + "".join(c.center(16) for c in cols))
    print(line)
    for key in keys:
        values = "".join((f"{r[key]:.6g}" if key in r else "").center(16) for r in results)
        print(key.center(width) + values)
    print(line)


def _predict(trainer: Any, data: dict[str, Any]) -> Any:
    loaders = _required_loaders(
        trainer, TrainerFn.PREDICTING, data.get("predict"), "predict_dataloader"
    )
    loaders, limits = _eval_loaders(trainer, loaders, "limit_predict_batches")
    trainer.num_predict_batches = limits
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
