"""A text table summarising a module's layers and parameters (what ``ModelSummary`` prints).

::

    from plkit.callbacks._summary import summarize
    print(summarize(model, max_depth=1))

      | Name | Type   | Params | Mode
    -------------------------------------
    0 | net  | Linear | 66     | train
    -------------------------------------
    66        Trainable params
    ...

When the module has an ``example_input_array``, one forward pass (eval mode, no gradients) adds
the "In sizes" and "Out sizes" columns; every submodule's train/eval mode is restored afterwards.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from plcore.utilities.apply import move_data_to_device

__all__ = ["LayerSummary", "get_human_readable_count", "summarize", "summarize_layers"]

_UNITS = (" ", "K", "M", "B", "T")
UNKNOWN_SIZE = "?"


@dataclass
class LayerSummary:
    """One row of the table: a submodule and what is known about it."""

    name: str
    type: str
    params: int
    mode: str
    in_size: Any = UNKNOWN_SIZE
    out_size: Any = UNKNOWN_SIZE


def get_human_readable_count(number: int) -> str:
    """Abbreviate a count with K, M, B, T: ``123 -> "123  "``, ``1234 -> "1.2 K"``, ``2e6 -> "2.0 M"``.

    Three significant digits or more are shown whole (``"123 K"``); fewer get one decimal.

    Args:
        number: a non-negative count.
    """
    if number < 0:
        raise ValueError(f"get_human_readable_count() takes a count >= 0, got {number}.")
    digits = len(str(int(number)))
    group = min(math.ceil(digits / 3), len(_UNITS)) - 1
    scaled = number * 10.0 ** (-3 * group)
    if group == 0 or scaled >= 100:
        return f"{int(scaled):,d} {_UNITS[group]}"
    return f"{scaled:,.1f} {_UNITS[group]}"


def _num_params(params: Iterator[nn.Parameter]) -> int:
    # Lazy modules hold uninitialised parameters: they have no size yet and count as 0.
    return sum(0 if _is_lazy(p) else p.numel() for p in params)


def _is_lazy(param: torch.Tensor) -> bool:
    return isinstance(param, nn.parameter.UninitializedParameter)


def summarize_layers(module: nn.Module, max_depth: int = 1) -> list[LayerSummary]:
    """The submodules down to ``max_depth`` (-1: all levels), with sizes when an example exists.

    Args:
        module: the model.
        max_depth: 1 lists direct children, 2 their children too, -1 every level, 0 none.
    """
    _check_depth(max_depth)
    named = list(module.named_modules())[1:]  # the root is summed up in the totals instead
    if max_depth >= 0:
        named = [(name, sub) for name, sub in named if name.count(".") < max_depth]
    rows = [
        LayerSummary(
            name,
            type(sub).__name__,
            _num_params(sub.parameters()),
            "train" if sub.training else "eval",
        )
        for name, sub in named
    ]
    example = getattr(module, "example_input_array", None)
    if example is not None and rows:
        _record_sizes(module, example, rows, [sub for _, sub in named])
    return rows


def _shape_of(value: Any) -> Any:
    if hasattr(value, "shape"):
        return list(value.shape)
    if isinstance(value, (list, tuple)):
        return [_shape_of(item) for item in value]
    return UNKNOWN_SIZE


def _record_sizes(
    module: nn.Module, example: Any, rows: list[LayerSummary], subs: list[nn.Module]
) -> None:
    handles = []
    for row, sub in zip(rows, subs):

        def hook(
            _: nn.Module, args: tuple, kwargs: dict, out: Any, row: LayerSummary = row
        ) -> None:
            if row.in_size != UNKNOWN_SIZE or row.out_size != UNKNOWN_SIZE:
                return  # a layer called several times shows its first call
            inputs = (*args, *kwargs.values())
            row.in_size = _shape_of(inputs[0] if len(inputs) == 1 else inputs)
            row.out_size = _shape_of(out)

        handles.append(sub.register_forward_hook(hook, with_kwargs=True))
    try:
        _forward_example(module, example)
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """Eval mode for the duration, then every submodule back to its own previous mode."""
    modes = {sub: sub.training for sub in module.modules()}
    module.eval()
    try:
        yield
    finally:
        for sub, training in modes.items():
            sub.training = training


def _forward_example(module: nn.Module, example: Any) -> None:
    device = next((p.device for p in module.parameters() if not _is_lazy(p)), torch.device("cpu"))
    example = move_data_to_device(example, device)
    with torch.no_grad(), _eval_mode(module):
        if isinstance(example, dict):
            module(**example)
        elif isinstance(example, (list, tuple)):
            module(*example)
        else:
            module(example)


def _check_depth(max_depth: Any) -> None:
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < -1:
        raise ValueError(f"`max_depth` can be -1, 0 or > 0, got {max_depth!r}.")


def summarize(module: nn.Module, max_depth: int = 1) -> str:
    """The summary table of ``module`` as text (layers down to ``max_depth``, then totals).

    Args:
        module: the model.
        max_depth: 1 lists direct children, 2 their children too, -1 every level, 0 totals only.
    """
    rows = summarize_layers(module, max_depth)
    params = list(module.parameters())  # shared parameters appear once
    if any(_is_lazy(p) for p in params):
        warnings.warn(
            "A layer with UninitializedParameter was found, so the parameter counts may be"
            " inaccurate; run a forward pass first to materialise lazy layers.",
            stacklevel=2,
        )
    total = _num_params(iter(params))
    trainable = _num_params(p for p in params if p.requires_grad)
    size_mb = sum(0 if _is_lazy(p) else p.numel() * p.element_size() for p in params) / 1e6
    modes = [sub.training for sub in list(module.modules())[1:]]
    table = _format_rows(rows, has_sizes=getattr(module, "example_input_array", None) is not None)
    footer = [
        (get_human_readable_count(trainable), "Trainable params"),
        (get_human_readable_count(total - trainable), "Non-trainable params"),
        (get_human_readable_count(total), "Total params"),
        (f"{size_mb:,.3f}", "Total estimated model params size (MB)"),
        (str(modes.count(True)), "Modules in train mode"),
        (str(modes.count(False)), "Modules in eval mode"),
    ]
    return table + "\n" + "\n".join(f"{value:<10}{label}" for value, label in footer)


def _format_rows(rows: list[LayerSummary], has_sizes: bool) -> str:
    columns: list[tuple[str, list[str]]] = [
        (" ", [str(i) for i in range(len(rows))]),
        ("Name", [row.name for row in rows]),
        ("Type", [row.type for row in rows]),
        ("Params", [get_human_readable_count(row.params) for row in rows]),
        ("Mode", [row.mode for row in rows]),
    ]
    if has_sizes:
        columns.append(("In sizes", [str(row.in_size) for row in rows]))
        columns.append(("Out sizes", [str(row.out_size) for row in rows]))
    widths = [max([len(header), *map(len, values)]) for header, values in columns]
    rule = "-" * (sum(widths) + 3 * len(columns))
    lines = [" | ".join(f"{header:<{w}}" for (header, _), w in zip(columns, widths)), rule]
    for i in range(len(rows)):
        lines.append(" | ".join(f"{values[i]:<{w}}" for (_, values), w in zip(columns, widths)))
    lines.append(rule)
    return "\n".join(lines)
