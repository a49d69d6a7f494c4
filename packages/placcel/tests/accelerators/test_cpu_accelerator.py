import os

import pytest
import torch

from placcel import ConfigurationError
from placcel.accelerators import CPUAccelerator


@pytest.mark.parametrize(
    ("devices", "expected"),
    [
        (1, 1),
        (2, 2),
        ("3", 3),
        ("auto", 1),
        (" auto ", 1),
        (-1, os.cpu_count()),
        ("-1", os.cpu_count()),
    ],
)
def test_parse_devices_counts_processes(devices, expected):
    assert CPUAccelerator.parse_devices(devices) == expected


@pytest.mark.parametrize(
    ("devices", "error", "match"),
    [
        # Lightning's classes: 0 is a MisconfigurationException (a ValueError), the rest TypeErrors
        (0, ConfigurationError, "devices=0 is not valid on CPU"),
        (-2, TypeError, "positive number of processes"),
        ([0, 1], TypeError, "write devices=2"),
        ("0,1", TypeError, "write devices=2"),
        (True, TypeError, "write a number"),
        (1.5, TypeError, "float"),
        ("two", TypeError, "not understood"),
    ],
)
def test_parse_devices_rejects_bad_values(devices, error, match):
    with pytest.raises(error, match=match):
        CPUAccelerator.parse_devices(devices)


def test_parallel_devices_one_cpu_per_process():
    assert CPUAccelerator.get_parallel_devices(3) == [torch.device("cpu")] * 3
    assert CPUAccelerator.is_available()
    assert CPUAccelerator.auto_device_count() == 1
    CPUAccelerator().setup_device(torch.device("cpu"))  # nothing to do, must not fail
