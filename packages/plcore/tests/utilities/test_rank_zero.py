"""Tests for plcore.utilities.rank_zero."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pytest

from plcore.utilities.rank_zero import (
    rank_prefixed_message,
    rank_zero_debug,
    rank_zero_deprecation,
    rank_zero_info,
    rank_zero_only,
    rank_zero_warn,
)

_RANK_VARS = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


@pytest.fixture(autouse=True)
def _restore_rank(monkeypatch):
    """Each test starts with no cached rank and no rank variables; both are restored after."""
    saved = rank_zero_only._rank
    for name in _RANK_VARS:
        monkeypatch.delenv(name, raising=False)
    rank_zero_only.rank = None
    yield
    rank_zero_only.rank = saved


def test_decorated_function_runs_on_rank_zero_only():
    calls = []

    @rank_zero_only
    def record(x):
        calls.append(x)
        return x * 2

    rank_zero_only.rank = 0
    assert record(2) == 4
    rank_zero_only.rank = 1
    assert record(3) is None
    assert calls == [2]
    assert record.__name__ == "record"


def test_default_for_other_ranks():
    rank_zero_only.rank = 2
    assert rank_zero_only(lambda: "ran", default="skipped")() == "skipped"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, 0),
        ({"RANK": "3"}, 3),
        ({"LOCAL_RANK": "2"}, 2),
        ({"SLURM_PROCID": "5", "LOCAL_RANK": "1"}, 1),
        ({"RANK": "bad", "SLURM_PROCID": "4"}, 4),
    ],
)
def test_rank_read_lazily_from_env(monkeypatch, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert rank_zero_only.rank == expected
    monkeypatch.setenv("RANK", "7")
    assert rank_zero_only.rank == expected  # cached after the first read


def test_rank_must_be_int():
    with pytest.raises(TypeError, match="must be an int"):
        rank_zero_only.rank = "0"
    with pytest.raises(TypeError, match="decorates a function"):
        rank_zero_only(3)


def test_import_does_not_read_environment():
    code = textwrap.dedent(
        """
        import os
        import plcore.utilities.rank_zero as rz
        assert rz.rank_zero_only._rank is None, "rank was read at import"
        os.environ["RANK"] = "1"          # a launcher sets it after import
        assert rz.rank_zero_only(lambda: "ran")() is None
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in _RANK_VARS}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_warn_on_rank_zero_points_at_caller():
    rank_zero_only.rank = 0
    with pytest.warns(UserWarning, match="careful") as record:
        rank_zero_warn("careful")
    assert record[0].filename == __file__
    with pytest.warns(DeprecationWarning, match="old") as record:
        rank_zero_deprecation("old")
    assert record[0].filename == __file__


def test_no_warning_on_other_ranks(recwarn):
    rank_zero_only.rank = 1
    rank_zero_warn("hidden")
    rank_zero_deprecation("hidden")
    assert len(recwarn) == 0


def test_info_and_debug_log_on_rank_zero_only(caplog):
    caplog.set_level(logging.DEBUG, logger="plcore")
    rank_zero_only.rank = 0
    rank_zero_info("hello %s", "world")
    rank_zero_debug("details")
    rank_zero_only.rank = 1
    rank_zero_info("not shown")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["hello world", "details"]
    assert caplog.records[0].pathname == __file__
    assert caplog.records[0].levelno == logging.INFO


def test_rank_prefixed_message():
    assert rank_prefixed_message("hi", 2) == "[rank: 2] hi"
    assert rank_prefixed_message("hi", None) == "hi"
