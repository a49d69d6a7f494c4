"""``StochasticWeightAveraging``: average the weights of the last epochs (SWA), with ``SWALR``.

::

    from plkit.callbacks import StochasticWeightAveraging

    trainer = Trainer(max_epochs=20, callbacks=[StochasticWeightAveraging(swa_lrs=1e-2)])

From epoch ``swa_epoch_start`` on the optimizer's scheduler is swapped for
``torch.optim.swa_utils.SWALR`` and, at the start of each epoch, the weights are folded into a
running average. When training ends the model gets the averaged weights. A model with BatchNorm
layers then needs fresh running statistics: as Lightning does, fit runs one extra epoch over the
training data (``trainer.max_epochs`` and ``trainer.num_training_batches`` read one more during
fit) with the averaged weights, without backward or zero_grad, BatchNorm momentum off; the
epoch's last batch still calls the optimizer step, with the gradients the optimizer holds
(Lightning's behaviour, kept). The callback's checkpoint state (average, count, scheduler) makes
a resumed fit continue exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, cast

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import SWALR

from plcore.callback import Callback
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_info, rank_zero_warn
from plkit._optimizers import LRSchedulerConfig
from plkit.callbacks._module_copy import copy_without_trainer

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["StochasticWeightAveraging"]

_AVG_FN = Callable[[Tensor, Tensor, Tensor], Tensor]


class StochasticWeightAveraging(Callback):
    """Stochastic Weight Averaging (Izmailov et al., 2018) over the last epochs of fit.

    One optimizer and at most one scheduler (which it replaces, interval "epoch").

    Args:
        swa_lrs: the SWA learning rate: one float for every parameter group, or a list of
            floats, one per group.
        swa_epoch_start: the first averaging epoch: an int (1-based), or a float in [0, 1] for
            ``int(swa_epoch_start * max_epochs)``.
        annealing_epochs: epochs of ``SWALR``'s annealing to ``swa_lrs``.
        annealing_strategy: ``"cos"`` or ``"linear"`` annealing.
        avg_fn: ``(averaged, current, num_averaged) -> new averaged``; None: the equal average.
        device: where the averaged model lives; None: the model's device.
    """

    def __init__(
        self,
        swa_lrs: float | list[float],
        swa_epoch_start: int | float = 0.8,
        annealing_epochs: int = 10,
        annealing_strategy: Literal["cos", "linear"] = "cos",
        avg_fn: _AVG_FN | None = None,
        device: torch.device | str | None = torch.device("cpu"),
    ) -> None:
        err_msg = "swa_epoch_start should be a >0 integer or a float between 0 and 1."
        if isinstance(swa_epoch_start, int) and swa_epoch_start < 1:
            raise MisconfigurationException(err_msg)
        if isinstance(swa_epoch_start, float) and not (0 <= swa_epoch_start <= 1):
            raise MisconfigurationException(err_msg)
        wrong_type = not isinstance(swa_lrs, (float, list))
        wrong_float = isinstance(swa_lrs, float) and swa_lrs <= 0
        wrong_list = isinstance(swa_lrs, list) and not all(
            lr > 0 and isinstance(lr, float) for lr in swa_lrs
        )
        if wrong_type or wrong_float or wrong_list:
            raise MisconfigurationException(
                "The `swa_lrs` should a positive float, or a list of positive floats"
            )
        if avg_fn is not None and not callable(avg_fn):
            raise MisconfigurationException("The `avg_fn` should be callable.")
        if device is not None and not isinstance(device, (torch.device, str)):
            raise MisconfigurationException(
                f"device is expected to be a torch.device or a str. Found {device}"
            )
        self.n_averaged: Tensor | None = None
        self._swa_epoch_start = swa_epoch_start
        self._swa_lrs = swa_lrs
        self._annealing_epochs = annealing_epochs
        self._annealing_strategy = annealing_strategy
        self._avg_fn = avg_fn or self.avg_fn
        self._device = device
        self._model_contains_batch_norm: bool | None = None
        self._average_model: nn.Module | None = None
        self._initialized = False
        self._swa_scheduler: Any = None
        self._scheduler_state: dict[str, Any] | None = None
        self._init_n_averaged = 0
        self._latest_update_epoch = -1
        self.momenta: dict[nn.modules.batchnorm._BatchNorm, float | None] = {}
        self._max_epochs: int = -1
        self._accumulate_grad_batches = 1

    @property
    def swa_start(self) -> int:
        """The first averaging epoch, 0-based (known once fit has started)."""
        assert isinstance(self._swa_epoch_start, int), "resolved in on_fit_start"
        return max(self._swa_epoch_start - 1, 0)

    @property
    def swa_end(self) -> int:
        """The last averaging epoch, 0-based (``inf`` without ``max_epochs``)."""
        if self._max_epochs == -1:
            return cast(int, float("inf"))
        return self._max_epochs - 1

    @staticmethod
    def pl_module_contains_batch_norm(pl_module: Any) -> bool:
        return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in pl_module.modules())

    # --- the hooks -------------------------------------------------------------------------------
    def setup(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        if (
            "FSDP" in type(trainer.strategy).__name__
            or "DeepSpeed" in type(trainer.strategy).__name__
        ):
            raise MisconfigurationException("SWA does not currently support sharded models.")
        # before the module reaches its device; without the Trainer (Lightning's pickling drops it)
        self._average_model = copy_without_trainer(pl_module)

    def on_fit_start(self, trainer: Trainer, pl_module: Any) -> None:
        if len(trainer.optimizers) != 1:
            raise MisconfigurationException("SWA currently works with 1 `optimizer`.")
        if len(trainer.lr_scheduler_configs) > 1:
            raise MisconfigurationException(
                "SWA currently not supported for more than 1 `lr_scheduler`."
            )
        max_epochs = trainer.max_epochs
        assert max_epochs is not None, "fit resolves max_epochs before it starts"
        if isinstance(self._swa_epoch_start, float):
            if max_epochs == -1:
                raise MisconfigurationException(
                    "SWA with `swa_epoch_start` as a float is not supported when `max_epochs=-1`. "
                    "Please provide `swa_epoch_start` as an integer."
                )
            self._swa_epoch_start = int(max_epochs * self._swa_epoch_start)
        self._model_contains_batch_norm = self.pl_module_contains_batch_norm(pl_module)
        self._max_epochs = max_epochs
        if self._model_contains_batch_norm and max_epochs != -1:
            trainer.fit_loop.max_epochs = max_epochs + 1  # the BatchNorm epoch
        if self._scheduler_state is not None:
            self._clear_schedulers(trainer)

    def _start_swa(self, trainer: Trainer, pl_module: Any) -> None:
        """The first averaging epoch: the average's device, ``SWALR`` in the scheduler's place."""
        self._initialized = True
        assert self._average_model is not None, "made in setup"
        self._average_model = self._average_model.to(self._device or pl_module.device)
        optimizer = trainer.optimizers[0]
        if isinstance(self._swa_lrs, float):
            self._swa_lrs = [self._swa_lrs] * len(optimizer.param_groups)
        for lr, group in zip(self._swa_lrs, optimizer.param_groups):
            group["initial_lr"] = lr
        max_epochs = trainer.max_epochs
        assert max_epochs is not None
        self._swa_scheduler = SWALR(
            optimizer,
            swa_lr=self._swa_lrs,  # type: ignore[arg-type]
            anneal_epochs=self._annealing_epochs,
            anneal_strategy=self._annealing_strategy,
            last_epoch=max_epochs if self._annealing_strategy == "cos" else -1,
        )
        if self._scheduler_state is not None:  # resumed: continue the checkpoint's schedule
            self._swa_scheduler.load_state_dict(self._scheduler_state)
        elif trainer.current_epoch != self.swa_start:
            rank_zero_warn(
                "SWA is initializing after swa_start without any checkpoint data. "
                "This may be caused by loading a checkpoint from an older version of PyTorch "
                "Lightning."
            )
        config = LRSchedulerConfig(self._swa_scheduler)
        configs = trainer.lr_scheduler_configs
        if configs:
            current = configs[0]
            if current.interval != "epoch" or current.frequency != 1:
                rank_zero_warn(f"SWA is currently only supported every epoch. Found {current}")
            rank_zero_info(
                f"Swapping scheduler `{current.scheduler.__class__.__name__}`"
                f" for `{self._swa_scheduler.__class__.__name__}`"
            )
            configs[0] = config
        else:
            configs.append(config)
        if self.n_averaged is None:
            self.n_averaged = torch.tensor(
                self._init_n_averaged, dtype=torch.long, device=pl_module.device
            )

    def on_train_epoch_start(self, trainer: Trainer, pl_module: Any) -> None:
        epoch = trainer.current_epoch
        averaging = self.swa_start <= epoch <= self.swa_end
        if not self._initialized and averaging:
            self._start_swa(trainer, pl_module)
        if averaging and epoch > self._latest_update_epoch:
            assert self.n_averaged is not None and self._average_model is not None
            self.update_parameters(self._average_model, pl_module, self.n_averaged, self._avg_fn)
            self._latest_update_epoch = epoch
        # "==", not ">": a fit resumed from a checkpoint saved after this epoch trains on
        if self._max_epochs != -1 and epoch == self.swa_end + 1:
            self._start_batch_norm_epoch(trainer, pl_module)

    def _start_batch_norm_epoch(self, trainer: Trainer, pl_module: Any) -> None:
        """The averaged weights in the model, then one pass over the training data to recompute
        the BatchNorm statistics: no backward, one batch more allowed than the epoch has (the
        loader's end ends it), every batch in one accumulation window."""
        assert self._average_model is not None
        self.transfer_weights(self._average_model, pl_module)
        self.reset_batch_norm_and_save_state(pl_module)
        fit_loop = trainer.fit_loop
        fit_loop.max_batches += 1
        fit_loop._skip_backward = True
        self._accumulate_grad_batches = trainer.accumulate_grad_batches
        if not isinstance(fit_loop.max_batches, int):  # Lightning's exception class and words
            raise AssertionError("Iterable-style datasets are not supported")
        trainer.accumulate_grad_batches = fit_loop.max_batches

    def on_train_epoch_end(self, trainer: Trainer, *args: Any) -> None:
        trainer.fit_loop._skip_backward = False

    def on_train_end(self, trainer: Trainer, pl_module: Any) -> None:
        # current_epoch has already moved past the last epoch when this hook runs
        last = trainer.current_epoch - 1
        if self._model_contains_batch_norm and self._max_epochs != -1 and last == self.swa_end + 1:
            trainer.accumulate_grad_batches = self._accumulate_grad_batches
            fit_loop = trainer.fit_loop
            fit_loop.max_batches -= 1
            assert fit_loop.max_epochs is not None
            fit_loop.max_epochs -= 1
            self.reset_momenta()
        elif (last == self.swa_end or self._max_epochs == -1) and self._average_model is not None:
            self.transfer_weights(self._average_model, pl_module)

    # --- the averaging ---------------------------------------------------------------------------
    @staticmethod
    def transfer_weights(src_pl_module: nn.Module, dst_pl_module: nn.Module) -> None:
        """Copy the parameters (not the buffers) of ``src_pl_module`` into ``dst_pl_module``."""
        for src, dst in zip(src_pl_module.parameters(), dst_pl_module.parameters()):
            dst.detach().copy_(src.to(dst.device))

    def reset_batch_norm_and_save_state(self, pl_module: Any) -> None:
        """Fresh BatchNorm statistics with a cumulative average (momentum None), as
        ``torch.optim.swa_utils.update_bn`` does; the momenta are kept to restore."""
        self.momenta = {}
        for module in pl_module.modules():
            if not isinstance(module, nn.modules.batchnorm._BatchNorm):
                continue
            assert module.running_mean is not None and module.running_var is not None
            module.running_mean = torch.zeros_like(
                module.running_mean, device=pl_module.device, dtype=module.running_mean.dtype
            )
            module.running_var = torch.ones_like(
                module.running_var, device=pl_module.device, dtype=module.running_var.dtype
            )
            self.momenta[module] = module.momentum
            module.momentum = None
            assert module.num_batches_tracked is not None
            module.num_batches_tracked *= 0

    def reset_momenta(self) -> None:
        """Give the BatchNorm layers their momenta back after the BatchNorm epoch."""
        for module, momentum in self.momenta.items():
            module.momentum = momentum

    @staticmethod
    def update_parameters(
        average_model: nn.Module, model: nn.Module, n_averaged: Tensor, avg_fn: _AVG_FN
    ) -> None:
        """Fold ``model``'s parameters into ``average_model``'s; ``n_averaged`` counts up."""
        for p_swa, p_model in zip(average_model.parameters(), model.parameters()):
            device = p_swa.device
            swa, current = p_swa.detach(), p_model.detach().to(device)
            swa.copy_(current if n_averaged == 0 else avg_fn(swa, current, n_averaged.to(device)))
        n_averaged += 1

    @staticmethod
    def avg_fn(
        averaged_model_parameter: Tensor, model_parameter: Tensor, num_averaged: Tensor
    ) -> Tensor:
        """The equally weighted running average."""
        return averaged_model_parameter + (model_parameter - averaged_model_parameter) / (
            num_averaged + 1
        )

    # --- checkpoint state ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        scheduler, average = self._swa_scheduler, self._average_model
        return {
            "n_averaged": 0 if self.n_averaged is None else self.n_averaged.item(),
            "latest_update_epoch": self._latest_update_epoch,
            "scheduler_state": None if scheduler is None else scheduler.state_dict(),
            "average_model_state": None if average is None else average.state_dict(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._init_n_averaged = state_dict["n_averaged"]
        self._latest_update_epoch = state_dict["latest_update_epoch"]
        self._scheduler_state = state_dict["scheduler_state"]
        if self._average_model is not None:
            self._average_model.load_state_dict(state_dict["average_model_state"])

    @staticmethod
    def _clear_schedulers(trainer: Trainer) -> None:
        """A resumed SWA fit: the checkpoint's scheduler state is SWALR's, which the callback
        restores itself when averaging starts; the configured scheduler gets none (it is
        replaced then). Needs on_fit_start to run before the scheduler states are loaded."""
        if trainer.lr_scheduler_configs:
            assert len(trainer.lr_scheduler_configs) == 1
            trainer.lr_scheduler_configs.clear()
