import pytest
import torch

from placcel.accelerators import CUDAAccelerator


@pytest.fixture
def two_gpus(monkeypatch):
    """Pretend two CUDA devices exist (device parsing only reads the count)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize(
    ("devices", "expected"),
    [
        (1, [0]),
        (2, [0, 1]),
        (-1, [0, 1]),
        ("-1", [0, 1]),
        ("auto", [0, 1]),
        ("2", [0, 1]),
        ("1,", [1]),
        ("0,1", [0, 1]),
        ([1], [1]),
        ((1, 0), [1, 0]),
    ],
)
def test_parse_devices(two_gpus, devices, expected):
    assert CUDAAccelerator.parse_devices(devices) == expected


@pytest.mark.parametrize(
    ("devices", "error", "match"),
    [
        (3, ValueError, r"asks for 3 CUDA devices but only 2 exist \(indices \[0, 1\]\)"),
        ([2], ValueError, r"CUDA device\(s\) \[2\] but only 2 exist"),
        ("0,5", ValueError, r"\[5\]"),
        (0, ValueError, "devices=0 is not valid"),
        (-3, ValueError, "is not valid"),
        ([0, 0], ValueError, "twice"),
        ([], ValueError, "selects no device"),
        (["0"], TypeError, "integer device indices"),
        (False, TypeError, "bool"),
    ],
)
def test_parse_devices_errors_name_what_exists(two_gpus, devices, error, match):
    with pytest.raises(error, match=match):
        CUDAAccelerator.parse_devices(devices)


def test_parallel_devices_are_indexed(two_gpus):
    assert CUDAAccelerator.get_parallel_devices([1, 0]) == [
        torch.device("cuda", 1),
        torch.device("cuda", 0),
    ]
    assert CUDAAccelerator.get_parallel_devices(2) == [
        torch.device("cuda", 0),
        torch.device("cuda", 1),
    ]


def test_setup_device_rejects_cpu():
    with pytest.raises(ValueError, match="pass a cuda device"):
        CUDAAccelerator().setup_device(torch.device("cpu"))


@pytest.mark.cuda
def test_setup_device_selects_gpu():
    last = torch.cuda.device_count() - 1
    CUDAAccelerator().setup_device(torch.device("cuda", last))
    assert torch.cuda.current_device() == last
    assert "allocated_bytes.all.current" in CUDAAccelerator().get_device_stats(
        torch.device("cuda", last)
    )
