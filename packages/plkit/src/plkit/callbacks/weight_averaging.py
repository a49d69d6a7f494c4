"""``WeightAveraging`` and ``EMAWeightAveraging``: keep an averaged copy of the model while it
trains (``torch.optim.swa_utils.AveragedModel``), use it to validate and to finish with.

::

    from plkit.callbacks import EMAWeightAveraging

    trainer = Trainer(callbacks=[EMAWeightAveraging(decay=0.999)])

The average is updated after every optimizer step (``should_update`` decides; override it), its
values are swapped into the model for each validation epoch and copied into it when training
ends. A checkpoint's ``state_dict`` holds the *averaged* weights; the model's own are under
``current_model_state`` and the averager's counters under ``averaging_state``, so a resumed fit
continues both exactly.
"""

from __future__ import annotations

import itertools
from copy import deepcopy
from typing import TYPE_CHECKING, Any

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_avg_fn

from plcore import LightningModule
from plcore.callback import Callback
from plcore.hooks import is_overridden
from plcore.utilities.rank_zero import rank_zero_info, rank_zero_warn
from plkit.callbacks._module_copy import copy_without_trainer

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["EMAWeightAveraging", "WeightAveraging"]


class WeightAveraging(Callback):
    """Average the model's weights after each optimizer step (SWA by default: equal weights).

    Args:
        device: where the averaged model lives (default: the model's device); ``"cpu"`` saves
            accelerator memory.
        use_buffers: also average the buffers (BatchNorm statistics); False leaves them to
            ``torch.optim.swa_utils.update_bn``.
        kwargs: passed on to ``AveragedModel`` (``avg_fn``, ``multi_avg_fn``).
    """

    def __init__(
        self,
        device: torch.device | str | int | None = None,
        use_buffers: bool = True,
        **kwargs: Any,
    ) -> None:
        self._device: torch.device | int | None = (
            torch.device(device) if isinstance(device, str) else device
        )
        self._use_buffers = use_buffers
        self._kwargs = kwargs
        self._average_model: AveragedModel | None = None
        self._latest_update_step = 0
        self._latest_update_epoch = -1

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        """Whether to update the average after optimizer step ``step_idx`` (0-based) or at the
        end of epoch ``epoch_idx`` (one of them is given). Default: after every step."""
        return step_idx is not None

    def setup(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        if stage != "fit":
            return
        device = self._device or pl_module.device
        if is_overridden(pl_module, "configure_model", LightningModule):
            rank_zero_warn(
                "You're using the WeightAveraging callback with a model that overrides the "
                "configure_model callback. WeightAveraging doesn't support sharding model layers, "
                "so you may run out of memory."
            )
            pl_module.configure_model()
        self._average_model = AveragedModel(  # copies the module: hand it one without the Trainer
            model=copy_without_trainer(pl_module),
            device=device,
            use_buffers=self._use_buffers,
            **self._kwargs,
        )

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        if step > self._latest_update_step and self.should_update(step_idx=step - 1):
            assert self._average_model is not None, "made in setup('fit')"
            self._average_model.update_parameters(pl_module)
            self._latest_update_step = step

    def on_train_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
        epoch = trainer.current_epoch
        if epoch > self._latest_update_epoch and self.should_update(epoch_idx=epoch):
            assert self._average_model is not None, "made in setup('fit')"
            self._average_model.update_parameters(pl_module)
            self._latest_update_epoch = epoch

    def on_train_end(self, trainer: Trainer, pl_module: Any) -> None:
        assert self._average_model is not None, "made in setup('fit')"
        self._copy_average_to_current(pl_module)

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: Any) -> None:
        if self._average_model is not None:
            self._swap_models(pl_module)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
        if self._average_model is not None:
            self._swap_models(pl_module)

    def state_dict(self) -> dict[str, Any]:
        return {"latest_update_step": self._latest_update_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._latest_update_step = state_dict["latest_update_step"]

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: Any, checkpoint: dict[str, Any]
    ) -> None:
        if self._average_model is None:
            rank_zero_info(
                "You're using the WeightAveraging callback, but saving a checkpoint outside the "
                "'fit' stage. The state of the WeightAveraging callback won't be saved in the "
                "checkpoint. If training has finished, the average model parameters will be saved "
                "to the state_dict in the checkpoint."
            )
            return
        average_state = self._average_model.state_dict()
        checkpoint["current_model_state"] = checkpoint["state_dict"]
        checkpoint["state_dict"] = {
            name[len("module.") :]: value
            for name, value in average_state.items()
            if name.startswith("module.")
        }
        checkpoint["averaging_state"] = {
            name: value for name, value in average_state.items() if not name.startswith("module.")
        }

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: Any, checkpoint: dict[str, Any]
    ) -> None:
        if self._average_model is None:
            rank_zero_warn(
                "You're using the WeightAveraging callback, but loading a checkpoint outside the "
                "'fit' stage. The WeightAveraging state cannot be restored. If you're using the "
                "checkpoint for prediction or testing, you can ignore this warning. To disable the "
                "warning, remove the WeightAveraging callback."
            )
        elif "current_model_state" in checkpoint and "averaging_state" in checkpoint:
            rank_zero_info(
                "Found current_model_state in the checkpoint. This will be used to initialize the "
                "model."
            )
            average_state = {"module." + k: v for k, v in checkpoint["state_dict"].items()}
            average_state |= checkpoint["averaging_state"]
            self._average_model.load_state_dict(average_state)
            pl_module.load_state_dict(checkpoint["current_model_state"])
        else:
            rank_zero_warn(
                "The checkpoint was not created with WeightAveraging. Both the current and the "
                "average model will be initialized with state_dict."
            )
            self._average_model.module.load_state_dict(
                deepcopy(checkpoint["state_dict"]), strict=False
            )

    def _pairs(self, pl_module: Any) -> Any:
        assert self._average_model is not None, "made in setup('fit')"
        average = self._average_model.module
        return zip(
            itertools.chain(average.parameters(), average.buffers()),
            itertools.chain(pl_module.parameters(), pl_module.buffers()),
        )

    def _swap_models(self, pl_module: Any) -> None:
        """Exchange the values of the model and the averaged model (parameters and buffers)."""
        for average, current in self._pairs(pl_module):
            tmp = average.data.clone()
            average.data.copy_(current.data)
            current.data.copy_(tmp)

    def _copy_average_to_current(self, pl_module: Any) -> None:
        for average, current in self._pairs(pl_module):
            current.data.copy_(average.data)


class EMAWeightAveraging(WeightAveraging):
    """An exponential moving average of the weights.

    Args:
        device: see :class:`WeightAveraging`.
        use_buffers: see :class:`WeightAveraging`.
        decay: the EMA decay (``average = decay * average + (1 - decay) * current``).
        update_every_n_steps: update after every this many optimizer steps.
        update_starting_at_step: the first step index (0-based) that updates (None: the first).
        update_starting_at_epoch: also update at the end of epochs from this one on (None: never
            at epoch ends).
        kwargs: passed on to ``AveragedModel``.
    """

    def __init__(
        self,
        device: torch.device | str | int | None = None,
        use_buffers: bool = True,
        decay: float = 0.999,
        update_every_n_steps: int = 1,
        update_starting_at_step: int | None = None,
        update_starting_at_epoch: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            device=device, use_buffers=use_buffers, **kwargs, avg_fn=get_ema_avg_fn(decay=decay)
        )
        self.update_every_n_steps = update_every_n_steps
        self.update_starting_at_step = update_starting_at_step
        self.update_starting_at_epoch = update_starting_at_epoch

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        if step_idx is not None:
            started = (
                self.update_starting_at_step is None or step_idx >= self.update_starting_at_step
            )
            every = self.update_every_n_steps
            if started and every > 0 and step_idx % every == 0:
                return True
        start_epoch = self.update_starting_at_epoch
        return epoch_idx is not None and start_epoch is not None and epoch_idx >= start_epoch
