"""``skip_init``: build modules without running their weight initialisation.

Inside ``with skip_init():`` the ``torch.nn.init`` functions (which ``reset_parameters`` calls)
return their tensor untouched, so a large model is allocated but not initialised: its values are
whatever memory held, to be overwritten by a checkpoint's weights. Plain tensor creation is
untouched, so buffers made with ``torch.zeros`` keep their values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from torch.overrides import TorchFunctionMode

__all__ = ["skip_init"]


class _SkipInit(TorchFunctionMode):
    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) == "torch.nn.init":
            return kwargs["tensor"] if "tensor" in kwargs else args[0]
        return func(*args, **kwargs)


@contextmanager
def skip_init(enabled: bool = True) -> Iterator[None]:
    """Skip ``torch.nn.init`` calls inside the block (a no-op when ``enabled`` is False)."""
    if not enabled:
        yield
        return
    with _SkipInit():
        yield
