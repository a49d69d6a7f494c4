"""Tests for plcore.utilities.seed."""

from __future__ import annotations

import io
import os
import random

import numpy as np
import pytest
import torch

from plcore.utilities.seed import (
    collect_rng_states,
    isolate_rng,
    pl_worker_init_function,
    reset_seed,
    seed_everything,
    set_rng_states,
)


@pytest.fixture(autouse=True)
def _restore_env_and_rng(monkeypatch):
    """Seeding writes env vars and global RNG state; give both back after each test."""
    monkeypatch.delenv("PL_GLOBAL_SEED", raising=False)
    monkeypatch.delenv("PL_SEED_WORKERS", raising=False)
    with isolate_rng():
        yield


def _draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_seed_everything_is_reproducible_and_sets_env():
    assert seed_everything(123, workers=True) == 123
    first = _draw()
    seed_everything(123)
    assert _draw() == first
    seed_everything(124)
    assert _draw() != first
    assert os.environ["PL_GLOBAL_SEED"] == "124"
    assert os.environ["PL_SEED_WORKERS"] == "0"


def test_seed_none_reads_env_or_defaults_to_zero(monkeypatch):
    with pytest.warns(UserWarning, match="No seed found, seed set to 0"):
        assert seed_everything() == 0
    monkeypatch.setenv("PL_GLOBAL_SEED", "77")
    assert seed_everything() == 77


@pytest.mark.parametrize("bad", [-1, 2**32, "abc"])
def test_invalid_seed_raises(bad):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(bad)


def test_a_float_seed_is_truncated_as_in_lightning():
    assert seed_everything(1.5) == 1


def test_invalid_env_seed_raises(monkeypatch):
    monkeypatch.setenv("PL_GLOBAL_SEED", "not-a-number")
    with pytest.raises(ValueError, match="PL_GLOBAL_SEED"):
        seed_everything()


def test_seed_accepts_int_like():
    assert seed_everything(np.int64(5)) == 5
    assert seed_everything("6") == 6
    assert seed_everything(7.0) == 7
    assert seed_everything(True) is True  # an int, kept as given, as in Lightning


def test_reset_seed(monkeypatch):
    reset_seed()  # never seeded: nothing happens, no error
    assert "PL_GLOBAL_SEED" not in os.environ
    seed_everything(9, workers=True)
    first = _draw()
    reset_seed()
    assert _draw() == first
    assert os.environ["PL_SEED_WORKERS"] == "1"


def test_isolate_rng_restores_state():
    torch.manual_seed(1)
    with isolate_rng():
        inside = [torch.rand(1).item() for _ in range(3)]
        random.random()
        np.random.rand()
    assert torch.rand(1).item() == inside[0]


def test_collect_set_round_trip_through_weights_only_load():
    seed_everything(3)
    random.gauss(0, 1)  # fill Python's cached gaussian
    np.random.standard_normal()  # leave numpy with a cached gaussian too
    states = collect_rng_states()
    expected = _draw()
    buffer = io.BytesIO()
    torch.save({"rng": states}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)["rng"]
    _draw()
    set_rng_states(loaded)
    assert _draw() == expected


def test_collected_state_holds_only_plain_values():
    states = collect_rng_states()
    assert isinstance(states["torch"], torch.Tensor)
    name, keys, pos, has_gauss, cached = states["numpy"]
    assert (type(name), type(pos), type(has_gauss), type(cached)) == (str, int, int, float)
    assert isinstance(keys, torch.Tensor) and keys.shape == (624,)
    version, internal, _ = states["python"]
    assert isinstance(version, int) and all(type(v) is int for v in internal)


def test_set_rng_states_accepts_numpy_native_and_list_forms():
    seed_everything(4)
    native = {"numpy": np.random.get_state(), "python": list(random.getstate())}
    native["python"][1] = list(native["python"][1])  # as if it went through JSON
    expected = (random.random(), float(np.random.rand()))
    set_rng_states(native)
    assert (random.random(), float(np.random.rand())) == expected
    with pytest.raises(TypeError, match="rng_state_dict"):
        set_rng_states([1, 2])


def test_worker_init_function_distinct_and_deterministic():
    def seeds_for(worker_id, rank):
        torch.manual_seed(1000 + worker_id)  # what DataLoader does in a worker
        pl_worker_init_function(worker_id, rank=rank)
        return _draw()

    a = seeds_for(0, 0)
    assert seeds_for(0, 0) == a
    others = [seeds_for(1, 0), seeds_for(0, 1), seeds_for(1, 1)]
    for other in others:
        for x, y in zip(a, other):
            assert x != y
