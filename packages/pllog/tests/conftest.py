"""Shared fixtures: every test runs as global rank 0 and leaves the rank as it found it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plcore.utilities.rank_zero import rank_zero_only


@pytest.fixture(autouse=True)
def _rank_zero() -> Iterator[None]:
    saved = rank_zero_only._rank
    rank_zero_only.rank = 0
    yield
    rank_zero_only._rank = saved


@pytest.fixture
def nonzero_rank() -> Iterator[None]:
    """Pretend to be global rank 1 for the duration of a test."""
    rank_zero_only.rank = 1
    yield
    rank_zero_only.rank = 0
