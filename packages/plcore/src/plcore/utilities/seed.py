"""Seeding and random-state capture for reproducible runs.

::

    from plcore.utilities import seed_everything, collect_rng_states, set_rng_states

    seed_everything(42, workers=True)      # python, numpy, torch (all devices); exported to subprocesses
    state = collect_rng_states()           # plain values and tensors: loads with weights_only=True
    ...
    set_rng_states(state)                  # continue exactly where the state was taken

``seed_everything`` writes ``PL_GLOBAL_SEED`` (and ``PL_SEED_WORKERS``) into the environment so
processes started later (spawn launchers, torchrun re-runs) can call :func:`reset_seed`.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from plcore.utilities.rank_zero import (
    _env_rank,
    rank_prefixed_message,
    rank_zero_only,
    rank_zero_warn,
)

__all__ = [
    "collect_rng_states",
    "isolate_rng",
    "pl_worker_init_function",
    "reset_seed",
    "seed_everything",
    "set_rng_states",
]

log = logging.getLogger(__name__)

MIN_SEED_VALUE = 0
MAX_SEED_VALUE = 2**32 - 1  # numpy's legacy seeding accepts uint32 only
_SEED_ENV = "PL_GLOBAL_SEED"
_WORKERS_ENV = "PL_SEED_WORKERS"


def seed_everything(seed: int | None = None, workers: bool = False, verbose: bool = True) -> int:
    """Seed Python's ``random``, numpy and torch (CPU and every CUDA device).

    Also sets ``PL_GLOBAL_SEED`` to the seed and ``PL_SEED_WORKERS`` to ``"1"``/``"0"``.

    Args:
        seed: an integer in ``[0, 2**32 - 1]``. None reads ``PL_GLOBAL_SEED``; when that is unset
            too, the seed is 0 and a warning says so.
        workers: if True, the Trainer gives each DataLoader worker a distinct, reproducible seed
            through :func:`pl_worker_init_function` (unless the loader has its own
            ``worker_init_fn``).
        verbose: log ``Seed set to N`` at INFO level.

    Returns:
        The seed that was used.
    """
    if seed is None:
        env_seed = os.environ.get(_SEED_ENV)
        if env_seed is None:
            seed = 0
            rank_zero_warn(f"No seed found, seed set to {seed}")
        else:
            seed = _to_seed(env_seed, f"the environment variable {_SEED_ENV}")
    else:
        seed = _to_seed(seed, "`seed`")
    if verbose:
        # "[rank: N]" only when a launcher set a rank variable, as under Lightning
        log.info(rank_prefixed_message(f"Seed set to {seed}", _env_rank()))
    os.environ[_SEED_ENV] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device, lazily
    os.environ[_WORKERS_ENV] = str(int(workers))
    return seed


def _to_seed(value: Any, source: str) -> int:
    """``value`` as an int in numpy's seed range, or a ValueError naming ``source``.

    As under Lightning, an int (a bool included) is kept as given and anything else goes through
    ``int()`` (a float is truncated).
    """
    if isinstance(value, int):
        seed = value
    else:
        try:
            seed = int(value, 10) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{source} must be an integer in [{MIN_SEED_VALUE}, {MAX_SEED_VALUE}], "
                f"got {value!r}."
            ) from None
    if not MIN_SEED_VALUE <= seed <= MAX_SEED_VALUE:
        raise ValueError(
            f"{source} must be in [{MIN_SEED_VALUE}, {MAX_SEED_VALUE}] (numpy accepts uint32 seeds"
            f" only), got {seed}. Use for example `{seed % (MAX_SEED_VALUE + 1)}`."
        )
    return seed


def reset_seed() -> None:
    """Seed again with the value a previous :func:`seed_everything` put in the environment.

    Does nothing when ``seed_everything`` was never called (``PL_GLOBAL_SEED`` unset). Launchers
    call this in each new process so every rank starts from the same seed.
    """
    seed = os.environ.get(_SEED_ENV)
    if seed is None:
        return
    workers = os.environ.get(_WORKERS_ENV, "0") == "1"
    seed_everything(_to_seed(seed, f"the environment variable {_SEED_ENV}"), workers, verbose=False)


def pl_worker_init_function(worker_id: int, rank: int | None = None) -> None:
    """Seed torch, numpy and ``random`` in a DataLoader worker, distinct per worker and rank.

    The Trainer installs this as ``worker_init_fn`` after ``seed_everything(..., workers=True)``.
    Each seed is derived from (the loader's base seed, ``worker_id``, global rank) through
    ``numpy.random.SeedSequence``, so no two workers on any rank share a random stream.

    Args:
        worker_id: the worker index DataLoader passes in.
        rank: the global rank; defaults to ``rank_zero_only.rank``.
    """
    global_rank = rank_zero_only.rank if rank is None else rank
    # Inside a worker torch's seed is the loader's base seed plus the worker id.
    base_seed = torch.initial_seed() - worker_id
    sequence = np.random.SeedSequence([base_seed, worker_id, global_rank])
    torch_seq, numpy_seq, python_seq = sequence.spawn(3)
    torch.manual_seed(int(torch_seq.generate_state(1, dtype=np.uint64)[0]))
    np.random.seed(numpy_seq.generate_state(4))
    random.seed(int(python_seq.generate_state(1, dtype=np.uint64)[0]))


def collect_rng_states(include_cuda: bool = True) -> dict[str, Any]:
    """Capture the global random state of torch, CUDA, numpy and Python's ``random``.

    Every value is a tensor or a plain Python value, so a checkpoint holding the result loads
    with ``torch.load(weights_only=True)``.

    Args:
        include_cuda: also capture each CUDA device's generator (when CUDA is available).

    Returns:
        ``{"torch": ByteTensor, "numpy": (name, Int64Tensor, pos, has_gauss, cached_gaussian),
        "python": (version, tuple of ints, gauss), "torch.cuda": [ByteTensor, ...]}``.
    """
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        # uint32 words stored as int64 so every torch version can save and load them.
        "numpy": (
            str(name),
            torch.from_numpy(keys.astype(np.int64)),
            int(pos),
            int(has_gauss),
            float(cached_gaussian),
        ),
        "python": random.getstate(),
    }
    if include_cuda and torch.cuda.is_available():
        states["torch.cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(rng_state_dict: dict[str, Any]) -> None:
    """Restore states captured by :func:`collect_rng_states` (or by Lightning's equivalent).

    Keys that are absent are left alone; ``"torch.cuda"`` is skipped without CUDA.

    Args:
        rng_state_dict: the dict returned by :func:`collect_rng_states`.
    """
    if not isinstance(rng_state_dict, dict):
        raise TypeError(
            f"`rng_state_dict` must be the dict from `collect_rng_states()`, got {type(rng_state_dict).__name__}."
        )
    if "torch" in rng_state_dict:
        torch.set_rng_state(rng_state_dict["torch"])
    if "torch.cuda" in rng_state_dict and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng_state_dict["torch.cuda"])
    if "numpy" in rng_state_dict:
        np.random.set_state(_numpy_state(rng_state_dict["numpy"]))
    if "python" in rng_state_dict:
        version, internal, gauss = rng_state_dict["python"]
        # A state that went through JSON or YAML comes back with lists instead of tuples.
        random.setstate((version, tuple(internal), gauss))


def _numpy_state(state: Any) -> tuple[str, np.ndarray, int, int, float]:
    """The tuple ``np.random.set_state`` wants, from our tensor form or numpy's own."""
    name, keys, pos, has_gauss, cached_gaussian = state
    if isinstance(keys, torch.Tensor):
        keys = keys.numpy()
    return (
        str(name),
        np.asarray(keys, dtype=np.uint32),
        int(pos),
        int(has_gauss),
        float(cached_gaussian),
    )


@contextmanager
def isolate_rng(include_cuda: bool = True) -> Iterator[None]:
    """Restore the global random state on exit to what it was on entry.

    Args:
        include_cuda: also save and restore the CUDA generators.

    Example::

        torch.manual_seed(1)
        with isolate_rng():
            torch.rand(1)   # consumes randomness inside only
        torch.rand(1)       # the same value the first call gave
    """
    states = collect_rng_states(include_cuda)
    try:
        yield
    finally:
        set_rng_states(states)
