"""A text table summarising a module's layers and parameters (what ``ModelSummary`` prints).

::

    from plkit.callbacks._summary import summarize
    print(summarize(model, max_depth=1))

      | Name | Type   | Params | Mode  | FLOPs
    ---------------------------------------------
    0 | net  | Linear | 66     | train | 0
    ---------------------------------------------
    66        Trainable params
    ...

When the module has an ``example_input_array``, one forward pass (eval mode, no gradients) counts
each layer's FLOPs (``torch.utils.flop_counter``) and adds the "In sizes" and "Out sizes"
columns; every submodule's train/eval mode is restored afterwards. Without one, FLOPs read 0.
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

__all__ = [
    "LayerSummary",
    "format_summary_table",
    "get_human_readable_count",
    "summarize",
    "summarize_layers",
    "summary_data",
]

_UNITS = (" ", "K", "M", "B", "T")
UNKNOWN_SIZE = "?"
LEFTOVER_PARAMS_NAME = "other params"
NOT_APPLICABLE = "n/a"
# Bits per parameter for the size estimate, by Trainer precision (others count as 32).
_PRECISION_BITS = {
    "64": 64,
    "32": 32,
    "16": 16,
    "bf16": 16,
    "16-true": 16,
    "bf16-true": 16,
    "32-true": 32,
    "64-true": 64,
}


@dataclass
class LayerSummary:
    """One row of the table: a submodule and what is known about it."""

    name: str
    type: str
    params: int
    mode: str
    in_size: Any = UNKNOWN_SIZE
    out_size: Any = UNKNOWN_SIZE
    flops: int = 0


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
    return _layers_and_flops(module, max_depth)[0]


def _layers_and_flops(module: nn.Module, max_depth: int) -> tuple[list[LayerSummary], int]:
    """The rows, and the FLOPs of the whole example forward pass (0 without an example)."""
    _check_depth(max_depth)
    named = list(module.named_modules())[1:]
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
    if example is None:
        return rows, 0
    # torch.utils.flop_counter takes ~60 ms to import; only a module with an example input
    # needs it, so it is loaded here rather than at ``import plkit``
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False, depth=max_depth + 1)
    with counter:
        _record_sizes(module, example, rows, [sub for _, sub in named])
    counts = counter.get_flop_counts()
    prefix = type(module).__name__
    for row in rows:
        row.flops = sum(counts.get(f"{prefix}.{row.name}", {}).values())
    return rows, counter.get_total_flops()


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


def summary_data(
    module: nn.Module, max_depth: int = 1, precision: str | None = None
) -> tuple[list[tuple[str, list[str]]], int, int, float, dict[str, int], int]:
    """What the table shows: its columns, then the totals under it.

    Returns ``(columns, total_parameters, trainable_parameters, model_size, training_modes,
    total_flops)``: ``columns`` is a list of ``(header, cells)``; ``model_size`` in MB counts
    every parameter at the bits of the Trainer's ``precision`` (32 when it has none, or a mixed
    precision, which warns); ``training_modes`` counts submodules as ``{"train": n, "eval": m}``.

    Args:
        module: the model.
        max_depth: 1 lists direct children, 2 their children too, -1 every level, 0 totals only.
        precision: the Trainer's precision ("32-true", "bf16-mixed", ...), None without one.
    """
    rows, total_flops = _layers_and_flops(module, max_depth)
    params = list(module.parameters())  # shared parameters appear once
    if any(_is_lazy(p) for p in params):
        warnings.warn(
            "A layer with UninitializedParameter was found, so the parameter counts may be"
            " inaccurate; run a forward pass first to materialise lazy layers.",
            stacklevel=2,
        )
    total = _num_params(iter(params))
    trainable = _num_params(p for p in params if p.requires_grad)
    if precision is not None and precision not in _PRECISION_BITS:
        warnings.warn(
            f"Precision {precision} is not supported by the model summary. "
            " Estimated model size in MB will not be accurate. Using 32 bits instead.",
            UserWarning,
            stacklevel=2,
        )
    bits = _PRECISION_BITS.get(precision, 32) if precision is not None else 32
    modes = [sub.training for sub in list(module.modules())[1:]]
    columns: list[tuple[str, list[str]]] = [
        (" ", [str(i) for i in range(len(rows))]),
        ("Name", [row.name for row in rows]),
        ("Type", [row.type for row in rows]),
        ("Params", [get_human_readable_count(row.params) for row in rows]),
        ("Mode", [row.mode for row in rows]),
        ("FLOPs", [get_human_readable_count(row.flops) for row in rows]),
    ]
    if getattr(module, "example_input_array", None) is not None:
        columns.append(("In sizes", [str(row.in_size) for row in rows]))
        columns.append(("Out sizes", [str(row.out_size) for row in rows]))
    leftover = total - sum(row.params for row in rows)
    if leftover > 0:  # parameters held by the module itself, outside the rows listed
        for header, cells in columns:
            cells.append(
                {" ": " ", "Name": LEFTOVER_PARAMS_NAME}.get(header, NOT_APPLICABLE)
                if header != "Params"
                else get_human_readable_count(leftover)
            )
    training_modes = {"train": modes.count(True), "eval": modes.count(False)}
    return columns, total, trainable, total * bits / 8 * 1e-6, training_modes, total_flops


def format_summary_table(
    total_parameters: int,
    trainable_parameters: int,
    model_size: float,
    total_training_modes: dict[str, int],
    total_flops: int,
    *cols: tuple[str, list[str]],
) -> str:
    """The table text: a header, one line per row, then the totals (as ``ModelSummary`` logs it).

    Args:
        total_parameters: every parameter, counted once.
        trainable_parameters: those with ``requires_grad``.
        model_size: the estimated size in MB.
        total_training_modes: ``{"train": n, "eval": m}`` submodules.
        total_flops: FLOPs of the example forward pass.
        *cols: ``(header, cells)`` per column, as :func:`summary_data` returns them.
    """
    n_rows = len(cols[0][1]) if cols else 0
    widths = [max([len(header), *(len(str(c)) for c in cells)]) for header, cells in cols]
    rule = "-" * (sum(widths) + 3 * (1 + len(cols)))
    lines = [" | ".join(f"{header:<{w}}" for (header, _), w in zip(cols, widths)), rule]
    for i in range(n_rows):
        lines.append(" | ".join(f"{cells[i]!s:<{w}}" for (_, cells), w in zip(cols, widths)))
    lines.append(rule)
    footer = [
        (get_human_readable_count(trainable_parameters), "Trainable params"),
        (get_human_readable_count(total_parameters - trainable_parameters), "Non-trainable params"),
        (get_human_readable_count(total_parameters), "Total params"),
        (f"{model_size:,.3f}", "Total estimated model params size (MB)"),
        (str(total_training_modes["train"]), "Modules in train mode"),
        (str(total_training_modes["eval"]), "Modules in eval mode"),
        (get_human_readable_count(total_flops), "Total Flops"),
    ]
    return "\n".join(lines + [f"{value:<10}{label}" for value, label in footer])


def summarize(module: nn.Module, max_depth: int = 1, precision: str | None = None) -> str:
    """The summary table of ``module`` as text (layers down to ``max_depth``, then totals).

    Args:
        module: the model.
        max_depth: 1 lists direct children, 2 their children too, -1 every level, 0 totals only.
        precision: the Trainer's precision, for the size estimate (None: 32 bits).
    """
    columns, total, trainable, size, modes, flops = summary_data(module, max_depth, precision)
    return format_summary_table(total, trainable, size, modes, flops, *columns)
