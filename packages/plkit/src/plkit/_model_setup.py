"""The module on its device: moved and wrapped by the strategy, and how batches reach it.

One process: the strategy moves the module and ``training_step`` is called directly. Several:
the strategy wraps a small router whose ``forward`` is ``training_step`` (so DDP's forward
bookkeeping applies). Batches go through the batch-transfer hooks that someone overrides (the
datamodule's win over the module's, with Lightning's warning), else straight to the device, or
nowhere when they are already there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from plcore import LightningDataModule, LightningModule
from plcore.hooks import is_overridden
from plcore.utilities.rank_zero import rank_zero_warn
from plkit._runstate import RunState
from plkit.loops._steps import step_caller

__all__ = ["setup_model"]

_STEP_METHODS = ("training_step", "validation_step", "test_step", "predict_step")
_TRANSFER_HOOKS = (
    "on_before_batch_transfer",
    "transfer_batch_to_device",
    "on_after_batch_transfer",
)


def setup_model(run: RunState) -> None:
    """Move and wrap the module; choose how batches reach the device."""
    model, strategy = run.lightning_module, run.strategy
    if strategy.world_size > 1 and strategy.steps_through_forward:
        wrapped = strategy.setup_module(_TrainingStepRouter(model))
        run.forward_module = run.wrapped_module = wrapped
    else:  # one process, or FSDP (the module itself is sharded and its step methods hooked)
        strategy.setup_module(model)
        strategy.setup_step_methods(model, _STEP_METHODS)
        run.forward_module = step_caller(model.training_step)
        run.wrapped_module = model if strategy.world_size > 1 else None
    if run.hooks.profiler is not None:
        from plkit._profiling import profiled_transfer

        transfer = profiled_transfer(run)
    else:
        transfer = _make_transfer(run)
    run.transfer = _warn_overridden_in_both(run, transfer)


#: the hooks already said to be overridden in both (once per process, as Lightning's cache)
_WARNED_BOTH: set[str] = set()


def _warn_overridden_in_both(
    run: RunState, transfer: Callable[[Any, int], Any]
) -> Callable[[Any, int], Any]:
    """``transfer``, or, when a batch-transfer hook is overridden in both the module and the
    datamodule (the datamodule's wins), ``transfer`` behind a first call that says so once per
    process, as Lightning does when the hook first runs (with a profiler or without); later
    loops get ``transfer`` itself."""
    model, dm = run.lightning_module, run.args.datamodule
    if dm is None:
        return transfer
    both = [
        name
        for name in _TRANSFER_HOOKS
        if name not in _WARNED_BOTH
        and is_overridden(dm, name, LightningDataModule)
        and is_overridden(model, name, LightningModule)
    ]
    if not both:
        return transfer

    def first_transfer(batch: Any, dataloader_idx: int) -> Any:
        run.transfer = transfer
        for name in both:
            if name not in _WARNED_BOTH:
                _WARNED_BOTH.add(name)
                rank_zero_warn(
                    f"You have overridden `{name}` in both `LightningModule` and "
                    "`LightningDataModule`. It will use the implementation from "
                    "`LightningDataModule` instance."
                )
        return transfer(batch, dataloader_idx)

    return first_transfer


class _TrainingStepRouter(torch.nn.Module):
    """Makes ``training_step`` the forward of a module, so DDP's forward bookkeeping applies."""

    def __init__(self, module: LightningModule) -> None:
        super().__init__()
        self.module = module
        self._step = step_caller(module.training_step)  # without batch_idx if it takes none

    def forward(self, batch: Any, batch_idx: int) -> Any:
        return self._step(batch, batch_idx)


def _make_transfer(run: RunState) -> Callable[[Any, int], Any]:
    model, dm, strategy = run.lightning_module, run.args.datamodule, run.strategy
    owners: dict[str, Callable[..., Any]] = {}
    for name in _TRANSFER_HOOKS:
        if dm is not None and is_overridden(dm, name, LightningDataModule):
            owners[name] = getattr(dm, name)
        elif is_overridden(model, name, LightningModule):
            owners[name] = lambda *a, _n=name: run.hooks.module(_n, *a)
    device = strategy.root_device
    if not owners:
        if device.type == "cpu" and not strategy.precision.converts_input:
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
