"""Spawned ranks (``ddp_spawn``, fork): what rank 0 sends back, and adopting it in the parent.

The ranks run on copies of the Trainer and module; the launching process gets rank 0's results,
weights, metrics, progress and callback states, as if the run had happened in it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from plkit._runstate import RunState

__all__ = ["adopt_spawned_outcome", "spawned_outcome"]


def spawned_outcome(run: RunState, result: Any) -> bytes | None:
    """What rank 0 of a spawned job sends back: results, weights, metrics, progress, callbacks."""
    if not run.strategy.is_global_zero:
        return None
    model, trainer = run.lightning_module, run.trainer
    outcome = {
        "result": result,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "callback_metrics": {k: v.detach().cpu() for k, v in trainer.callback_metrics.items()},
        "logged_metrics": {k: v.detach().cpu() for k, v in trainer.logged_metrics.items()},
        "progress": run.progress,
        "callbacks": [cb.state_dict() for cb in trainer.callbacks],
        "status": run.state.status,
    }
    # Bytes, not tensors: tensors sent through a multiprocessing queue are shared by file
    # descriptor, which breaks once this process exits before the parent reads them.
    buffer = io.BytesIO()
    torch.save(outcome, buffer)
    return buffer.getvalue()


def adopt_spawned_outcome(run: RunState, payload: bytes | None) -> Any:
    """Copy rank 0's outcome into the launching process, as if it had run here."""
    if payload is None:
        return None
    # our own child's bytes, not a file from elsewhere: full unpickling is safe here
    outcome = torch.load(io.BytesIO(payload), weights_only=False)
    run.lightning_module.load_state_dict(outcome["state_dict"])
    run.metrics.callback_metrics.update(outcome["callback_metrics"])
    run.metrics.logged_metrics.update(outcome["logged_metrics"])
    progress = outcome["progress"]
    for name, value in vars(progress).items():  # the same object: later runs carry it over
        setattr(run.progress, name, value)
    for cb, state in zip(run.trainer.callbacks, outcome["callbacks"]):
        if state:
            if "dirpath" in state and hasattr(cb, "dirpath"):
                cb.dirpath = state["dirpath"]  # set up in the rank, not here
            cb.load_state_dict(state)
    run.state.status = outcome["status"]
    return outcome["result"]
