"""Dataloaders for the loops: where they come from, how many batches, distributed samplers.

Training accepts a DataLoader, any iterable, or a list / dict of them (combined batch by batch in
Lightning's "max_size_cycle" mode: the longest one sets the length, shorter ones restart).
Evaluation and prediction accept one loader or a list of them (``dataloader_idx``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset, RandomSampler, SequentialSampler
from torch.utils.data.distributed import DistributedSampler

from plcore.utilities.exceptions import MisconfigurationException

__all__ = [
    "CombinedLoader",
    "as_loader_list",
    "limit_batches",
    "limited",
    "prepare_loader",
    "set_sampler_epoch",
    "sized_len",
]

_LOADER_HOOK = {
    "fit": "train_dataloader",
    "validate": "val_dataloader",
    "sanity": "val_dataloader",
    "test": "test_dataloader",
    "predict": "predict_dataloader",
}


def sized_len(loader: Any) -> float:
    """``len(loader)``, or ``inf`` for iterables without a length."""
    try:
        return float(len(loader))
    except (TypeError, NotImplementedError):
        return math.inf


def limit_batches(length: float, limit: int | float, flag: str) -> int | float:
    """Apply a ``limit_*_batches`` flag to a loader of ``length`` batches.

    The count is an int, as Lightning reports it; only a loader without length (and a limit that
    does not bound it) gives ``math.inf``.
    """
    if isinstance(limit, int):
        count = min(length, limit)
        return count if count == math.inf else int(count)
    if length == math.inf:
        if limit not in (0.0, 1.0):  # Lightning's class (a ValueError too, in plkit)
            raise MisconfigurationException(
                f"Trainer({flag}={limit}) is a fraction, but the dataloader has no length. Pass an "
                f"int number of batches instead, e.g. {flag}=100."
            )
        return 0 if limit == 0.0 else math.inf
    count = int(length * limit)
    if count == 0 and limit > 0 and length > 0:
        raise ValueError(
            f"Trainer({flag}={limit}) selects 0 of the {int(length)} batches. Raise the fraction "
            "or pass an int number of batches."
        )
    return count


def limited(loader: Iterable[Any], limit: float) -> Iterable[Any]:
    """``loader`` cut at ``limit`` batches (chosen once per loader, not checked per batch): no
    batch past the limit is fetched, as in Lightning; an unbounded one is iterated as is."""
    return loader if limit == math.inf else islice(loader, int(limit))


def as_loader_list(loaders: Any, hook: str) -> list[Any]:
    """One loader or a sequence of them, as a list; anything else is a clear error."""
    if loaders is None:
        return []
    if isinstance(loaders, Mapping):
        return list(loaders.values())
    items = list(loaders) if isinstance(loaders, (list, tuple)) else [loaders]
    for item in items:
        if not isinstance(item, Iterable) or isinstance(item, (str, bytes, torch.Tensor)):
            raise TypeError(
                f"`{hook}` returned {type(item).__name__}; return a torch DataLoader, an iterable "
                "of batches, or a list of them."
            )
    return items


class CombinedLoader:
    """Several training loaders iterated together ("max_size_cycle").

    Each batch has the structure of the input: a list of batches, or a dict of batches.
    """

    def __init__(self, loaders: Sequence[Any] | Mapping[str, Any]) -> None:
        self.loaders = loaders
        self._keys = list(loaders.keys()) if isinstance(loaders, Mapping) else None
        self._items = list(loaders.values()) if isinstance(loaders, Mapping) else list(loaders)

    def __len__(self) -> int:
        lengths = [sized_len(loader) for loader in self._items]
        if any(length == math.inf for length in lengths):
            raise TypeError("a combined loader with an iterable without length has no length")
        return int(max(lengths, default=0))

    def __iter__(self) -> Iterator[Any]:
        total = len(self)
        iterators = [iter(loader) for loader in self._items]
        for _ in range(total):
            batch = []
            for i, it in enumerate(iterators):
                try:
                    batch.append(next(it))
                except StopIteration:
                    iterators[i] = iter(self._items[i])
                    batch.append(next(iterators[i]))
            yield dict(zip(self._keys, batch)) if self._keys is not None else batch


def _rebuild(loader: DataLoader, sampler: Any) -> DataLoader:
    """A copy of ``loader`` that draws indices from ``sampler``."""
    kwargs: dict[str, Any] = {
        "batch_size": loader.batch_size,
        "num_workers": loader.num_workers,
        "collate_fn": loader.collate_fn,
        "pin_memory": loader.pin_memory,
        "drop_last": loader.drop_last,
        "timeout": loader.timeout,
        "worker_init_fn": loader.worker_init_fn,
        "generator": loader.generator,
        "persistent_workers": loader.persistent_workers,
    }
    if loader.num_workers > 0:
        kwargs["prefetch_factor"] = loader.prefetch_factor
        kwargs["multiprocessing_context"] = loader.multiprocessing_context
    if loader.batch_size is None:  # a custom batch_sampler: keep it, it decides the batches
        return loader
    new = DataLoader(loader.dataset, sampler=sampler, **kwargs)
    return new


def prepare_loader(
    loader: Any,
    *,
    training: bool,
    sampler_kwargs: dict[str, Any] | None,
    sequential: bool = False,
) -> Any:
    """Inject a ``DistributedSampler`` (several processes) or a sequential one (overfit_batches).

    Lightning's choices, kept: the sampler of a training loader always shuffles (whether the
    loader shuffled or not) unless ``sequential`` (overfit_batches); an evaluation loader's
    shuffles only if the loader did. Its seed is ``PL_GLOBAL_SEED`` (0 when unset), so every
    rank draws the same permutation; ``drop_last`` stays False (the last ranks get padding).
    """
    if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset):
        return loader
    sampler = loader.sampler
    if sampler_kwargs is None or isinstance(sampler, DistributedSampler):
        if sequential and isinstance(sampler, RandomSampler):
            return _rebuild(loader, SequentialSampler(loader.dataset))  # type: ignore[arg-type]
        return loader
    if not isinstance(sampler, (RandomSampler, SequentialSampler)):
        return loader  # a user's own sampler: leave it (documented)
    shuffle = (training or isinstance(sampler, RandomSampler)) and not sequential
    seed = int(os.environ.get("PL_GLOBAL_SEED") or 0)
    dist: DistributedSampler[Any] = DistributedSampler(
        loader.dataset, shuffle=shuffle, seed=seed, **sampler_kwargs
    )
    return _rebuild(loader, dist)


def set_sampler_epoch(loader: Any, epoch: int) -> None:
    """Tell the loader's sampler (or its batch sampler's) which epoch it is, as Lightning does
    for training loaders and for fit's validation loaders, so a DistributedSampler reshuffles."""
    samplers: tuple[Any, ...] = (
        getattr(loader, "sampler", None),
        getattr(getattr(loader, "batch_sampler", None), "sampler", None),
    )
    for sampler in samplers:
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
