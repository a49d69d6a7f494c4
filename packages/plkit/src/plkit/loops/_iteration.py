"""The training epoch's batches as ``(batch_idx, batch, is_last)``, replayed exactly on resume.

A resumed epoch restores the RNG state the interrupted epoch's iterator was made with, makes the
iterator again and skips the batches already trained (drawing only sampler indices where it
can); the training RNG then continues from the checkpoint's state.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from itertools import islice
from typing import Any

import torch
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler
from torch.utils.data.distributed import DistributedSampler

from plcore.utilities.seed import set_rng_states
from plkit._profiling import profiled_batches
from plkit._runstate import RunState

__all__ = ["train_iterator"]

_TRAIN_NEXT = "[_TrainingEpochLoop].train_dataloader_next"  # Lightning's action name


def train_iterator(run: RunState, loader: Any, start: int) -> Iterator[tuple[int, Any, bool]]:
    """``(batch_idx, batch, is_last)`` from ``start``, replaying the epoch's order on resume."""
    progress, loaders = run.progress, run.loaders
    first, loaders.first_train_iter = loaders.first_train_iter, None
    if run.pending_rng is not None and not start:  # resumed at an epoch boundary
        set_rng_states(run.pending_rng)
        run.pending_rng = None
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
    if run.pending_rng is not None:  # continue exactly where the checkpoint was taken
        set_rng_states(run.pending_rng)
        run.pending_rng = None
    total = _epoch_length(loader, run.loaders.num_training_batches)
    profiler = run.hooks.profiler
    if profiler is not None:  # each fetch timed; none beyond the epoch's last batch
        iterator = profiled_batches(iterator, total - start, profiler, _TRAIN_NEXT)
    return _with_last(iterator, start, total)


def _epoch_length(loader: Any, num_batches: float) -> float:
    """The batches this epoch runs: ``num_training_batches``, or fewer when the loader has
    fewer (a callback may raise ``trainer.fit_loop.max_batches`` past it, as
    StochasticWeightAveraging does; the epoch's last batch is then the loader's)."""
    try:
        length = len(loader)
    except (TypeError, NotImplementedError):  # no length: the epoch ends when the loader runs out
        return num_batches
    return min(num_batches, length)


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
    warnings.warn(
        f"Resuming in the middle of an epoch: {reason}, so the rest of this epoch may see "
        "different batches than the interrupted run would have. Training continues.",
        UserWarning,
        stacklevel=4,
    )


def _with_last(iterator: Any, start: int, total: float) -> Iterator[tuple[int, Any, bool]]:
    """``(batch_idx, batch, is_last)``; with a known number of batches nothing past the last is
    fetched (``islice``); without one, as Lightning's prefetching fetcher, one batch is fetched
    ahead so that the last is known when it is yielded."""
    idx = start
    if total != math.inf:
        last = int(total) - 1
        for idx, batch in enumerate(islice(iterator, max(last + 1 - start, 0)), start):
            yield idx, batch, idx == last
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
