import pytest
import torch

from placcel.accelerators import MPSAccelerator


def test_mps_has_exactly_one_device(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    for devices in (1, -1, "auto", [0], "0,"):
        assert MPSAccelerator.parse_devices(devices) == [0]
    assert MPSAccelerator.get_parallel_devices([0]) == [torch.device("mps", 0)]
    with pytest.raises(ValueError, match="only 1 exist"):
        MPSAccelerator.parse_devices(2)
