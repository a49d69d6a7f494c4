"""``lightning.pytorch.utilities.memory``: what counts as running out of memory, and freeing it.

The batch size finder treats exactly these errors as "too large" (Lightning's rule): a
``RuntimeError`` (``torch.cuda.OutOfMemoryError`` is one) with a single argument that mentions
``CUDA`` and ``out of memory``, cuDNN's ``CUDNN_STATUS_NOT_SUPPORTED`` error, or the CPU
allocator's ``can't allocate memory``. Any other error ends the search and propagates.
"""

from __future__ import annotations

import gc

import torch

__all__ = [
    "garbage_collection_cuda",
    "is_cuda_out_of_memory",
    "is_cudnn_snafu",
    "is_oom_error",
    "is_out_of_cpu_memory",
]


def _message(exception: BaseException) -> str | None:
    """The single string argument of a RuntimeError, else None."""
    if isinstance(exception, RuntimeError) and len(exception.args) == 1:
        arg = exception.args[0]
        return arg if isinstance(arg, str) else None
    return None


def is_cuda_out_of_memory(exception: BaseException) -> bool:
    message = _message(exception)
    return message is not None and "CUDA" in message and "out of memory" in message


def is_cudnn_snafu(exception: BaseException) -> bool:
    message = _message(exception)
    return message is not None and "cuDNN error: CUDNN_STATUS_NOT_SUPPORTED." in message


def is_out_of_cpu_memory(exception: BaseException) -> bool:
    message = _message(exception)
    return message is not None and "DefaultCPUAllocator: can't allocate memory" in message


def is_oom_error(exception: BaseException) -> bool:
    """Whether ``exception`` is an out-of-memory error the batch size finder recovers from."""
    return (
        is_cuda_out_of_memory(exception)
        or is_cudnn_snafu(exception)
        or is_out_of_cpu_memory(exception)
    )


def garbage_collection_cuda() -> None:
    """Collect garbage and empty torch's CUDA cache (an out-of-memory error there is ignored)."""
    gc.collect()
    try:
        torch.cuda.empty_cache()
    except RuntimeError as exception:
        if not is_oom_error(exception):
            raise
