"""Mixed precision (``"16-mixed"``, ``"bf16-mixed"``): float32 weights, autocast in the forward.

``"16-mixed"`` on CUDA also scales the loss with a ``torch.amp.GradScaler`` so small float16
gradients do not underflow; the scaler unscales the gradients before ``after_closure`` runs, so
clipping and ``on_before_optimizer_step`` see their true values.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import torch

from placcel.precision.precision import Precision

__all__ = ["MixedPrecision"]

_DTYPES = {"16-mixed": torch.float16, "bf16-mixed": torch.bfloat16}


class MixedPrecision(Precision):
    """Run the forward pass under ``torch.autocast``; scale gradients for float16 on CUDA.

    Args:
        precision: ``"16-mixed"`` or ``"bf16-mixed"``.
        device_type: the autocast device type: ``"cuda"``, ``"cpu"`` or ``"mps"``.
        scaler: a ``torch.amp.GradScaler`` to use instead of the default one (which exists only
            for ``"16-mixed"`` on CUDA). Not allowed with ``"bf16-mixed"``.
    """

    has_forward_context = True

    def __init__(
        self, precision: str, device_type: str, scaler: torch.amp.GradScaler | None = None
    ) -> None:
        _check_arguments(precision, device_type, scaler)
        self.precision = precision
        self.device_type = device_type
        self.dtype = _DTYPES[precision]
        if scaler is None and precision == "16-mixed" and device_type == "cuda":
            scaler = torch.amp.GradScaler("cuda")
        self.scaler = scaler

    def forward_context(self) -> AbstractContextManager[Any]:
        """``torch.autocast`` on this device type with the 16-bit dtype."""
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, tensor: torch.Tensor, backward_fn: Callable[..., None], *args: Any) -> None:
        """Scale the loss (when a scaler is used) and call ``backward_fn`` on it.

        Args:
            tensor: the loss.
            backward_fn: what actually calls ``backward``.
            *args: passed on to ``backward_fn``.
        """
        if self.scaler is not None:
            tensor = self.scaler.scale(tensor)
        backward_fn(tensor, *args)

    def optimizer_step(
        self,
        optimizer: torch.optim.Optimizer,
        closure: Callable[[], Any],
        after_closure: Callable[[], None],
    ) -> Any:
        """Step through the scaler: closure, unscale, ``after_closure``, then step and update.

        Without a scaler this is the plain closure step of :class:`Precision`. A closure that
        returns ``None`` means "skip this step": ``after_closure`` still runs (on gradients that
        are not unscaled), the step and the scaler update do not.

        Args:
            optimizer: the optimizer to step.
            closure: runs forward and backward and returns the loss (or ``None``).
            after_closure: runs once the gradients are unscaled (hooks, clipping).
        """
        if self.scaler is None:
            return super().optimizer_step(optimizer, closure, after_closure)
        if isinstance(optimizer, torch.optim.LBFGS):
            raise TypeError(
                "precision='16-mixed' with a GradScaler cannot step LBFGS (it re-evaluates the "
                "closure, which the scaler does not support); use precision='bf16-mixed' or "
                "'32-true' with LBFGS."
            )
        result = closure()
        if result is None:
            # Nothing to step. Unscaling here would leave the scaler expecting step()/update()
            # (and fails before the first scale() call), so the gradients are left as they are.
            after_closure()
            return None
        self.scaler.unscale_(optimizer)
        after_closure()
        self.scaler.step(optimizer)
        self.scaler.update()
        return result

    def state_dict(self) -> dict[str, Any]:
        """The scaler's state (empty without a scaler)."""
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the scaler's state saved by :meth:`state_dict`.

        Args:
            state_dict: a dict produced by :meth:`state_dict`.
        """
        if self.scaler is not None and state_dict:
            self.scaler.load_state_dict(state_dict)


def _check_arguments(precision: str, device_type: str, scaler: torch.amp.GradScaler | None) -> None:
    if precision not in _DTYPES:
        raise ValueError(
            f"MixedPrecision(precision={precision!r}) is not valid; write one of {list(_DTYPES)}."
        )
    if device_type not in ("cuda", "cpu", "mps"):
        raise ValueError(
            f"MixedPrecision(device_type={device_type!r}) is not valid; write 'cuda', 'cpu' or "
            "'mps'."
        )
    if precision == "bf16-mixed" and scaler is not None:
        raise ValueError(
            "precision='bf16-mixed' does not need a GradScaler (bfloat16 has float32's range); "
            "leave scaler=None or use precision='16-mixed'."
        )
    if precision == "16-mixed" and device_type == "cpu" and scaler is None:
        raise ValueError(
            "precision='16-mixed' is not supported on CPU (float16 autocast there is slow and "
            "has no gradient scaling); use precision='bf16-mixed' on CPU, or accelerator='cuda'."
        )
