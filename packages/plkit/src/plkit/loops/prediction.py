"""The prediction loop: VALIDATION's shape with ``predict_step`` and ``on_predict_*`` hooks.

Predictions are collected per dataloader (``return_predictions``); nothing is logged.
"""

from __future__ import annotations

from typing import Any

import torch

from plkit._state import RunningStage

__all__ = ["run_prediction"]


def run_prediction(
    trainer: Any, loaders: list[Any], limits: list[float], keep: bool
) -> list[list[Any]]:
    """Run ``predict_step`` over every loader; returns the predictions per loader."""
    calls, model = trainer._calls, trainer.lightning_module
    ctx, transfer = model._log_ctx, trainer._batch_transfer
    trainer.state.stage = RunningStage.PREDICTING
    calls.module("on_predict_model_eval")
    grad = torch.inference_mode() if trainer._plan.inference_mode else torch.no_grad()
    outputs: list[list[Any]] = []
    with grad:
        calls.both("on_predict_start")
        calls.both("on_predict_epoch_start")
        for dl_idx, (loader, limit) in enumerate(zip(loaders, limits)):
            kept: list[Any] = []
            for batch_idx, batch in enumerate(loader):
                if batch_idx >= limit:
                    break
                batch = transfer(batch, dl_idx)
                calls.both("on_predict_batch_start", batch, batch_idx, dl_idx)
                ctx.fx = "predict_step"
                with trainer.strategy.forward_context():
                    if len(loaders) > 1:
                        out = model.predict_step(batch, batch_idx, dl_idx)
                    else:
                        out = model.predict_step(batch, batch_idx)
                ctx.fx = None
                calls.both("on_predict_batch_end", out, batch, batch_idx, dl_idx)
                if keep:
                    kept.append(out)
            outputs.append(kept)
        calls.both("on_predict_epoch_end")
        calls.both("on_predict_end")
    return outputs
