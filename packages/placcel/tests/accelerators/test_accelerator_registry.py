import pytest
import torch

from placcel.accelerators import (
    CPUAccelerator,
    CUDAAccelerator,
    MPSAccelerator,
    resolve_accelerator,
)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_auto_is_cpu_without_gpus(no_gpu):
    assert isinstance(resolve_accelerator("auto"), CPUAccelerator)
    assert isinstance(resolve_accelerator("CPU"), CPUAccelerator)


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert isinstance(resolve_accelerator("auto"), CUDAAccelerator)
    assert isinstance(resolve_accelerator("gpu"), CUDAAccelerator)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert isinstance(resolve_accelerator("auto"), MPSAccelerator)
    assert isinstance(resolve_accelerator("gpu"), MPSAccelerator)


@pytest.mark.parametrize(
    ("flag", "match"),
    [
        (
            "gpu",
            r"accelerator='gpu' was requested but no CUDA device is available \(torch.cuda.is_available\(\) is False\).*Use accelerator='cpu' or 'auto'",
        ),
        ("cuda", r"no CUDA device is available.*Available here: \['cpu'\]"),
        ("mps", r"MPS is not available.*accelerator='cpu'"),
        ("tpu", "torch_xla, which plkit does not support"),
        ("npu", r"not known; write one of \['auto', 'cpu', 'gpu', 'cuda', 'mps', 'tpu'\]"),
    ],
)
def test_errors_say_what_to_write(no_gpu, flag, match):
    with pytest.raises(ValueError, match=match):
        resolve_accelerator(flag)


def test_instances_pass_through_and_are_checked(no_gpu):
    accelerator = CPUAccelerator()
    assert resolve_accelerator(accelerator) is accelerator
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_accelerator(CUDAAccelerator())
    with pytest.raises(TypeError, match="has type int"):
        resolve_accelerator(1)
