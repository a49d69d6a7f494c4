"""What the Trainer prints and warns about, in Lightning's words, streams and order.

Messages go through the ``"plkit"`` logger at INFO level (shown on stderr by the handler that
:func:`plkit._setup.attach_log_handler` installs), on global rank 0 only. Warnings that point at
a probable mistake use :class:`plcore.utilities.warnings.PossibleUserWarning`, so that
``warnings.filterwarnings("ignore", category=PossibleUserWarning)`` silences them as it does
under Lightning. Nothing here runs per batch.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from plcore import LightningModule
from plcore.hooks import is_overridden
from plcore.utilities.rank_zero import rank_zero_only, rank_zero_warn
from plcore.utilities.warnings import PossibleUserWarning

if TYPE_CHECKING:
    from plkit._runstate import RunState
    from plkit.trainer import Trainer

__all__ = [
    "construction_messages",
    "cuda_device_notes",
    "cuda_rank_line",
    "fit_stopped",
    "info",
    "print_results",
    "check_loaders",
    "warn_eval_mode_modules",
    "warn_few_workers",
    "warn_log_interval",
    "warn_val_loop_mismatch",
]

log = logging.getLogger("plkit")


def info(message: str) -> None:
    """Log ``message`` at INFO level on global rank 0."""
    if rank_zero_only.rank == 0:
        log.info(message)


# ---------------------------------------------------------------------------------------------
# Trainer construction
# ---------------------------------------------------------------------------------------------
_LIMIT_MESSAGES = {
    "limit_train_batches": (
        "1 batch per epoch will be used.",
        "100% of the batches per epoch will be used.",
    ),
    "val_check_interval": (
        "validation will run after every batch.",
        "validation will run at the end of the training epoch.",
    ),
}
_OTHER_LIMIT = ("1 batch will be used.", "100% of the batches will be used.")


def _limit_message(name: str, value: Any) -> str | None:
    """What an explicit ``1`` (one batch) or ``1.0`` (all batches) means for flag ``name``."""
    one, everything = _LIMIT_MESSAGES.get(name, _OTHER_LIMIT)
    if isinstance(value, int) and value == 1:
        return f"`Trainer({name}=1)` was configured so {one}"
    if isinstance(value, float) and value == 1.0:
        return f"`Trainer({name}=1.0)` was configured so {everything}."  # "..", as Lightning
    return None


def construction_messages(
    trainer: Trainer,
    *,
    callbacks: Iterable[Any],
    enable_model_summary: bool | None,
    detect_anomaly: bool,
    fast_dev_run: int,
    overfit_batches: float,
    limits: Mapping[str, Any],
) -> None:
    """The lines a new Trainer prints: model summary, anomaly detection, devices, batch limits.

    Args:
        trainer: the Trainer being built (its strategy already chosen).
        callbacks: the callbacks the user passed.
        enable_model_summary: the flag as passed (None: the default, on).
        detect_anomaly: the flag.
        fast_dev_run: the number of batches of a fast dev run, 0 when off.
        overfit_batches: the flag (0: off).
        limits: ``limit_*_batches`` and ``val_check_interval`` as passed, in that order.
    """
    from plkit.callbacks import ModelSummary

    if enable_model_summary is not False:
        summaries = [type(cb) for cb in callbacks if isinstance(cb, ModelSummary)]
        if summaries:
            info(
                f"Trainer already configured with model summary callbacks: {summaries}."
                " Skipping setting a default `ModelSummary` callback."
            )
    if detect_anomaly:
        info(
            "You have turned on `Trainer(detect_anomaly=True)`. This will significantly slow down"
            " compute speed and is recommended only for model debugging."
        )
    _device_lines(trainer)
    overfit = _limit_message("overfit_batches", overfit_batches)
    if overfit:
        info(overfit)
    if fast_dev_run:
        info(
            f"Running in `fast_dev_run` mode: will run the requested loop using {fast_dev_run}"
            " batch(es). Logging and checkpointing is suppressed."
        )
        return
    for name, value in limits.items():
        if overfit_batches and name in ("limit_train_batches", "limit_val_batches"):
            continue
        message = _limit_message(name, value)
        if message:
            info(message)


def _device_lines(trainer: Trainer) -> None:
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    kind = type(trainer.strategy.accelerator).__name__
    gpu_used = kind in ("CUDAAccelerator", "MPSAccelerator")
    gpu_type = " (cuda)" if cuda else " (mps)" if mps else ""
    info(f"GPU available: {cuda or mps}{gpu_type}, used: {gpu_used}")
    info("TPU available: False, using: 0 TPU cores")
    if (cuda and kind != "CUDAAccelerator") or (mps and kind != "MPSAccelerator"):
        rank_zero_warn(
            "GPU available but not used. You can set it by doing `Trainer(accelerator='gpu')`.",
            category=PossibleUserWarning,
        )


# ---------------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------------
_TF32_NOTED: set[int] = set()  # devices whose Tensor Cores note was given (once per process)


def cuda_device_notes(trainer: Trainer) -> None:
    """Once per CUDA device and process: a note that float32 matmuls leave Tensor Cores unused."""
    if type(trainer.strategy.accelerator).__name__ != "CUDAAccelerator":
        return
    device = trainer.strategy.root_device
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index in _TF32_NOTED:
        return
    _TF32_NOTED.add(index)
    major, _ = torch.cuda.get_device_capability(index)
    if major >= 8 and torch.get_float32_matmul_precision() == "highest":
        info(
            f"You are using a CUDA device ({torch.cuda.get_device_name(index)!r}) that has Tensor"
            " Cores. To properly utilize them, you should set"
            " `torch.set_float32_matmul_precision('medium' | 'high')` which will trade-off"
            " precision for performance. For more details, read"
            " https://pytorch.org/docs/stable/generated/torch.set_float32_matmul_precision.html"
            "#torch.set_float32_matmul_precision"
        )


def cuda_rank_line(trainer: Trainer) -> None:
    """``LOCAL_RANK: 0 - CUDA_VISIBLE_DEVICES: [0]``, on every process of a CUDA run."""
    if type(trainer.strategy.accelerator).__name__ != "CUDAAccelerator":
        return
    every = ",".join(str(i) for i in range(torch.cuda.device_count()))
    devices = os.getenv("CUDA_VISIBLE_DEVICES", every)
    log.info(f"LOCAL_RANK: {trainer.local_rank} - CUDA_VISIBLE_DEVICES: [{devices}]")


def fit_stopped(run: RunState) -> None:
    """Say which limit ended ``fit`` (``max_steps`` is checked before ``max_epochs``)."""
    plan, progress = run.plan, run.progress
    if plan.max_steps != -1 and progress.global_step >= plan.max_steps:
        info(f"`Trainer.fit` stopped: `max_steps={plan.max_steps!r}` reached.")
    elif plan.max_epochs not in (-1, None) and progress.epoch >= plan.max_epochs:
        info(f"`Trainer.fit` stopped: `max_epochs={plan.max_epochs!r}` reached.")


def warn_log_interval(trainer: Trainer) -> None:
    """A logging interval longer than the epoch: the epoch's steps are never logged."""
    batches, every = trainer.num_training_batches, trainer.log_every_n_steps
    if trainer.loggers and batches < every and not trainer.fast_dev_run:
        rank_zero_warn(
            f"The number of training batches ({_count(batches)}) is smaller than the logging"
            f" interval Trainer(log_every_n_steps={every}). Set a lower value for"
            " log_every_n_steps if you want to see logs for the training epoch.",
            category=PossibleUserWarning,
        )


def _count(value: float) -> Any:
    return int(value) if value == int(value) else value


def warn_val_loop_mismatch(model: LightningModule, has_val_data: bool) -> None:
    """A ``validation_step`` without validation data, or the reverse: validation is skipped.

    Args:
        model: the LightningModule being fitted.
        has_val_data: whether ``val_dataloaders`` or a ``val_dataloader`` hook was given.
    """
    has_step = is_overridden(model, "validation_step", LightningModule)
    if has_val_data and not has_step:
        rank_zero_warn(
            "You passed in a `val_dataloader` but have no `validation_step`. Skipping val loop."
        )
    elif has_step and not has_val_data:
        rank_zero_warn(
            "You defined a `validation_step` but have no `val_dataloader`. Skipping val loop.",
            category=PossibleUserWarning,
        )


def warn_eval_mode_modules(model: torch.nn.Module) -> None:
    """Submodules left in eval mode when training starts (dropout and batch norm stay off)."""
    count = sum(not sub.training for sub in model.modules())
    if count:
        rank_zero_warn(
            f"Found {count} module(s) in eval mode at the start of training. This may lead to"
            " unexpected behavior during training. If this is intentional, you can ignore this"
            " warning.",
            category=PossibleUserWarning,
        )


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _flat_loaders(loaders: Any) -> list[Any]:
    if isinstance(loaders, Mapping):
        return [dl for value in loaders.values() for dl in _flat_loaders(value)]
    if isinstance(loaders, (list, tuple)):
        return [dl for value in loaders for dl in _flat_loaders(value)]
    return [loaders]


def _is_shuffled(loader: torch.utils.data.DataLoader) -> bool:
    if isinstance(loader.dataset, torch.utils.data.IterableDataset):
        return False
    batch_sampler = loader.batch_sampler
    sampler = getattr(batch_sampler, "sampler", None) if batch_sampler is not None else None
    sampler = sampler if sampler is not None else loader.sampler
    return isinstance(sampler, torch.utils.data.RandomSampler)


def check_loaders(trainer: Trainer, loaders: Any, name: str) -> None:
    """Lightning's warnings about the ``DataLoader``s of one stage, each loader in turn: an
    evaluation loader that shuffles, and too few worker processes.

    Args:
        trainer: the Trainer (its devices share the cores).
        loaders: the loaders as the user gave them (one, a list or a dict of them).
        name: ``train_dataloader``, ``val_dataloader``, ``test_dataloader`` or
            ``predict_dataloader``.
    """
    for loader in _flat_loaders(loaders):
        if not isinstance(loader, torch.utils.data.DataLoader):
            continue
        if name != "train_dataloader" and _is_shuffled(loader):
            rank_zero_warn(
                f"Your `{name}`'s sampler has shuffling enabled, it is strongly recommended that"
                " you turn shuffling off for val/test dataloaders.",
                category=PossibleUserWarning,
            )
        warn_few_workers(trainer, loader, name)


def warn_few_workers(trainer: Trainer, loader: torch.utils.data.DataLoader, name: str) -> None:
    """A ``DataLoader`` with fewer than two workers on a machine with cores to spare."""
    upper = max(1, _cpus() // max(trainer.num_devices, 1) - 1)
    context = loader.multiprocessing_context
    method = (
        context.get_start_method()
        if context is not None
        else torch.multiprocessing.get_start_method()
    )
    if loader.num_workers > 0 and method == "spawn" and not loader.persistent_workers:
        rank_zero_warn(
            f"Consider setting `persistent_workers=True` in '{name}' to speed up the dataloader"
            " worker initialization."
        )
    elif loader.num_workers < 2 and upper > 1:
        rank_zero_warn(
            f"The '{name}' does not have many workers which may be a bottleneck. Consider"
            " increasing the value of the `num_workers` argument` to"
            f" `num_workers={upper}` in the `DataLoader` to improve performance.",
            category=PossibleUserWarning,
        )


# ---------------------------------------------------------------------------------------------
# validate / test
# ---------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        value = value.item() if value.numel() == 1 else value.tolist()
    return f"{value}"


def rich_installed() -> bool:
    """Whether rich can be imported (looked up, not imported): Lightning's default progress bar,
    model summary and results table are then rich's."""
    return importlib.util.find_spec("rich") is not None


def _print_rich_table(
    headers: list[str], names: list[str], rows: list[list[str]], width: int
) -> None:
    """The results table as rich draws it (names in cyan, values in magenta, centred)."""
    from rich import get_console
    from rich.table import Column, Table

    columns = [Column(h, justify="center", style="magenta", width=width) for h in headers]
    columns[0].style = "cyan"
    table = Table(*columns)
    for name, row in zip(names, rows):
        table.add_row(name, *row)
    get_console().print(table)


def print_results(results: Sequence[Mapping[str, Any]], stage: str) -> None:
    """The table ``validate`` / ``test`` print to stdout: one row per metric, one column per loader.

    Columns are as wide as the longest metric name or header, at least 25 characters and at most
    half the terminal; a terminal too narrow for all loaders gets several tables.

    Args:
        results: one dict of metric values per dataloader (keys with their
            ``/dataloader_idx_N`` suffix).
        stage: ``"validate"`` or ``"test"``.
    """
    results = [{k.split("/dataloader_idx_")[0]: v for k, v in r.items()} for r in results]
    names = sorted({k for r in results for k in r})
    if not names:
        return
    headers = [f"DataLoader {i}" for i in range(len(results))]
    columns = shutil.get_terminal_size(fallback=(120, 30)).columns or 120
    width = int(min(max(len(max(names, key=len)), len(max(headers, key=len)), 25), columns / 2))
    rows = [[_cell(r[name]) if name in r else " " for r in results] for name in names]
    per_table = int((columns - width) / width)
    try:
        if sys.stdout.encoding is not None:
            "─".encode(sys.stdout.encoding)
        rule = "─" * columns
    except UnicodeEncodeError:
        rule = "-" * columns
    half = int(columns / 2)
    rich = rich_installed()  # Lightning draws it with rich then
    for start in range(0, len(headers), per_table):
        table_headers = [f"{stage} Metric".capitalize(), *headers[start : start + per_table]]
        if rich:
            _print_rich_table(
                table_headers, names, [r[start : start + per_table] for r in rows], width
            )
            continue
        fmt = f"{{:^{width}}}" * len(table_headers)
        lines = [rule, fmt.format(*table_headers).rstrip(), rule]
        for name, row in zip(names, rows):
            cells = row[start : start + per_table]
            while len(name) > half:  # a very long name wraps over several lines
                lines.append(fmt.format(name[:half], *cells).rstrip())
                name = name[half:]
                cells = [" "] * len(cells)
            lines.append(fmt.format(name, *cells).rstrip())
        lines.append(rule)
        print(os.linesep.join(lines))
