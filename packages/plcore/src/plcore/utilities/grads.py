"""Gradient norms per parameter, to log from ``on_before_optimizer_step``.

::

    def on_before_optimizer_step(self, optimizer):
        self.log_dict(grad_norm(self, norm_type=2))
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["grad_norm"]


def grad_norm(
    module: nn.Module, norm_type: float | int | str, group_separator: str = "/"
) -> dict[str, torch.Tensor]:
    """The ``norm_type`` norm of each parameter's gradient, and of all of them together.

    Args:
        module: the module whose parameters' gradients are measured (those without one skipped).
        norm_type: the order of the norm: a positive number, or ``"inf"`` for the largest value.
        group_separator: between ``grad_{norm}_norm`` and the parameter's name in the keys.

    Returns:
        ``{"grad_2.0_norm/layer.weight": tensor, ..., "grad_2.0_norm_total": tensor}`` (empty when
        no parameter has a gradient).
    """
    norm_type = float(norm_type)
    if norm_type <= 0:
        raise ValueError(f"grad_norm(norm_type={norm_type!r}): the norm's order must be > 0.")
    prefix = f"grad_{norm_type}_norm"
    norms = {
        f"{prefix}{group_separator}{name}": torch.linalg.vector_norm(
            param.grad.detach(), ord=norm_type
        )
        for name, param in module.named_parameters()
        if param.grad is not None
    }
    if norms:
        total = torch.linalg.vector_norm(torch.stack(list(norms.values())), ord=norm_type)
        norms[f"{prefix}_total"] = total
    return norms
