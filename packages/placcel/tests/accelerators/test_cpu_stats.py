"""CPUAccelerator.get_device_stats: the machine's CPU, memory and swap use, from psutil."""

from __future__ import annotations

import sys

import pytest
import torch

from placcel.accelerators import CPUAccelerator
from placcel.accelerators.cpu import get_cpu_stats


def test_cpu_stats_are_three_percentages() -> None:
    pytest.importorskip("psutil")
    stats = CPUAccelerator().get_device_stats(torch.device("cpu"))
    assert sorted(stats) == ["cpu_percent", "cpu_swap_percent", "cpu_vm_percent"]
    assert all(0.0 <= v <= 100.0 for v in stats.values())


def test_without_psutil_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # as if it were not installed
    with pytest.raises(ModuleNotFoundError, match=r"placcel\[stats\]"):
        get_cpu_stats()
