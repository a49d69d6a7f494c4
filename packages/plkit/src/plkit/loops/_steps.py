"""How the loops call step methods and restore the module's mode, as Lightning does.

Lightning passes a step method only the arguments its signature takes: ``batch_idx`` when the
method has a parameter of that name, ``*args``, or at least two parameters after ``self``;
``dataloader_idx`` only when several evaluation / prediction loaders run, and then the step must
accept it. All of this is decided once per loop, never per batch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["ModuleMode", "check_dataloader_idx", "step_caller", "takes_param"]


def takes_param(fn: Callable[..., Any], name: str, min_args: int | None = None) -> bool:
    """Whether the bound method ``fn`` takes ``name``: by name, through ``*args``, or
    (``min_args``) by having at least that many positional parameters (Lightning's test)."""
    fn = getattr(fn, "__wrapped__", fn)
    try:
        spec = inspect.getfullargspec(fn)
    except TypeError:  # not introspectable: assume it takes what the hook's spec says
        return True
    args = spec.args[1:]  # a bound method's spec still names ``self``
    return (
        name in args or spec.varargs is not None or (min_args is not None and len(args) >= min_args)
    )


def step_caller(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` called as ``(batch, batch_idx, *rest)``, dropping ``batch_idx`` when its signature
    has no room for it."""
    if takes_param(fn, "batch_idx", min_args=2):
        return fn
    return lambda batch, _batch_idx, *rest: fn(batch, *rest)


def check_dataloader_idx(
    model: Any, hooks: tuple[str, ...], several: bool, prefix: str, defined: frozenset[str]
) -> None:
    """Several loaders need ``dataloader_idx`` in the step and batch hooks; one loader must not
    require it (a default value is fine). Lightning's errors and messages."""
    for hook in hooks:
        if hook not in defined:  # the base class's hooks take dataloader_idx=0
            continue
        fn = getattr(model, hook)
        present = takes_param(fn, "dataloader_idx")
        if several and not present:
            raise RuntimeError(
                f"You provided multiple `{prefix}_dataloader`, but no `dataloader_idx` argument in"
                f" `{type(model).__name__}.{hook}()`. Try adding `dataloader_idx=0` to its"
                " signature."
            )
        if not several and present:
            params = inspect.signature(fn).parameters
            if (
                "dataloader_idx" in params
                and params["dataloader_idx"].default is inspect.Parameter.empty
            ):
                raise RuntimeError(
                    f"You provided only a single `{prefix}_dataloader`, but have included"
                    f" `dataloader_idx` in `{type(model).__name__}.{hook}()`. Either remove the"
                    " argument or give it a default value i.e. `dataloader_idx=0`."
                )


class ModuleMode:
    """The ``training`` flag of every submodule, captured before evaluation and restored after
    (so a submodule the user froze in eval mode stays so)."""

    def __init__(self) -> None:
        self.mode: dict[str, bool] = {}

    def capture(self, module: torch.nn.Module) -> None:
        self.mode = {name: mod.training for name, mod in module.named_modules()}

    def restore(self, module: torch.nn.Module) -> None:
        for name, mod in module.named_modules():
            if name in self.mode:
                mod.training = self.mode[name]
