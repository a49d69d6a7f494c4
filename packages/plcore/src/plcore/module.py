"""``LightningModule``: an ``nn.Module`` that also knows how to train itself.

The user writes the science (``training_step``, ``validation_step``, ``configure_optimizers``);
every other hook has a default here. A LightningModule works without any Trainer too: call its
``training_step`` from a loop of your own (see ``docs/plcore-alone.md``).

Example:
    >>> import torch
    >>> from torch import nn
    >>> class Regressor(LightningModule):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.net = nn.Linear(4, 1)
    ...     def training_step(self, batch, batch_idx):
    ...         x, y = batch
    ...         return nn.functional.mse_loss(self.net(x), y)
    ...     def configure_optimizers(self):
    ...         return torch.optim.SGD(self.parameters(), lr=0.1)
    >>> model = Regressor()
    >>> loss = model.training_step((torch.zeros(2, 4), torch.zeros(2, 1)), 0)
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from plcore import _hparams
from plcore import checkpoint as _checkpoint
from plcore.interfaces import TrainerLink
from plcore.metrics import MetricStore, resolve_log_options
from plcore.utilities.apply import apply_to_collection, move_data_to_device
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn

__all__ = ["LightningModule", "LogContext"]

_NOT_ATTACHED = "is not attached to a `Trainer`. Pass it to `Trainer.fit(model)` first."


_UNKNOWN = object()


class LogContext:
    """Where ``self.log`` writes right now: a trainer's loops set its fields around each hook
    (a plain object, cheaper to mutate than ``nn.Module`` attributes).

    Attributes:
        fx: the hook or step method running (its name decides ``self.log``'s defaults and
            whether logging is allowed), or None outside hooks.
        store: the :class:`~plcore.metrics.MetricStore` values go to (training's or
            evaluation's), or None when nothing may be logged.
        dataloader_idx: the evaluation dataloader running, or None.
        num_dataloaders: how many evaluation dataloaders this run has (names get a
            ``/dataloader_idx_N`` suffix when several).
        batch: the current batch (its size weighs epoch means; found once per batch).
    """

    __slots__ = (
        "_bs",
        "_bs_for",
        "batch",
        "dataloader_idx",
        "fx",
        "num_dataloaders",
        "sites",
        "store",
    )

    def __init__(self) -> None:
        self.fx: str | None = None
        self.store: MetricStore | None = None
        self.dataloader_idx: int | None = None
        self.num_dataloaders = 1
        self.batch: Any = None  # set by the loops for every batch
        self._bs_for: Any = _UNKNOWN
        self._bs: int | None = None
        self.sites: dict[tuple[Any, ...], Any] = {}  # call site -> metric entry (hot path)

    def current_batch_size(self) -> int | None:
        """The current batch's size, found once per batch (the weight of an epoch mean)."""
        batch = self.batch
        if self._bs_for is not batch:
            self._bs_for, self._bs = batch, _batch_size(batch)
        return self._bs


def _batch_size(batch: Any) -> int | None:
    """The first dimension of the first tensor in the batch (the weight of an epoch mean)."""
    if isinstance(batch, torch.Tensor):
        return batch.shape[0] if batch.dim() else 1
    if isinstance(batch, Mapping):
        batch = list(batch.values())
    elif dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        batch = [getattr(batch, field.name) for field in dataclasses.fields(batch)]
    if isinstance(batch, (list, tuple)):
        for item in batch:
            size = _batch_size(item)
            if size is not None:
                return size
    return None


class LightningModule(nn.Module):
    """An ``nn.Module`` with the hooks of the Lightning programming model.

    Override at least ``training_step`` and ``configure_optimizers`` to train with the Trainer.
    Attributes a subclass may set: ``example_input_array`` (for summaries and graphs) and
    ``automatic_optimization`` (``False`` for manual optimization).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trainer: TrainerLink | None = None  # all plcore reads of it (plcore.interfaces)
        self._automatic_optimization = True
        self._example_input_array: Any = None
        self._log_ctx = LogContext()
        self._toggled_requires_grad: dict[nn.Parameter, bool] | None = None

    # --- what the module reads of the runtime ---------------------------------------------
    @property
    def trainer(self) -> Any:
        """The Trainer this module runs in; raises when there is none."""
        if self._trainer is None:
            raise RuntimeError(f"{type(self).__name__} {_NOT_ATTACHED}")
        return self._trainer

    @trainer.setter
    def trainer(self, trainer: Any) -> None:
        # LightningModules nested in this one share its Trainer, as in Lightning (so a child's
        # ``self.log`` outside the Trainer's hooks is an error, not silently dropped)
        for child in self.children():
            if isinstance(child, LightningModule):
                child.trainer = trainer
        object.__setattr__(self, "_trainer", trainer)

    @property
    def log_context(self) -> LogContext:
        """Where ``self.log`` writes right now; the Trainer's loops set it (see :class:`LogContext`)."""
        return self._log_ctx

    @property
    def current_epoch(self) -> int:
        """The Trainer's current epoch (0 without a Trainer)."""
        return self._trainer.current_epoch if self._trainer is not None else 0

    @property
    def global_step(self) -> int:
        """The Trainer's optimizer step count (0 without a Trainer)."""
        return self._trainer.global_step if self._trainer is not None else 0

    @property
    def global_rank(self) -> int:
        """This process's global rank (0 without a Trainer)."""
        return self._trainer.global_rank if self._trainer is not None else 0

    @property
    def local_rank(self) -> int:
        """This process's rank on its machine (0 without a Trainer)."""
        return self._trainer.local_rank if self._trainer is not None else 0

    @property
    def device(self) -> torch.device:
        """The device of the module's parameters (CPU when it has none)."""
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    @property
    def on_gpu(self) -> bool:
        """Whether the module's parameters are on a CUDA device."""
        return self.device.type == "cuda"

    @property
    def dtype(self) -> torch.dtype:
        """The floating dtype of the module's parameters."""
        for tensor in self.parameters():
            if tensor.is_floating_point():
                return tensor.dtype
        return torch.get_default_dtype()

    @property
    def logger(self) -> Any:
        """The Trainer's first logger, or None."""
        return self._trainer.logger if self._trainer is not None else None

    @property
    def loggers(self) -> list[Any]:
        """The Trainer's loggers."""
        return list(self._trainer.loggers) if self._trainer is not None else []

    @property
    def automatic_optimization(self) -> bool:
        """False to step optimizers yourself in training_step (manual optimization)."""
        return self._automatic_optimization

    @automatic_optimization.setter
    def automatic_optimization(self, value: bool) -> None:
        object.__setattr__(self, "_automatic_optimization", bool(value))

    @property
    def example_input_array(self) -> Any:
        """An example input for ``forward`` (model summary shapes, ``log_graph``)."""
        return self._example_input_array

    @example_input_array.setter
    def example_input_array(self, value: Any) -> None:
        object.__setattr__(self, "_example_input_array", value)

    def print(self, *args: Any, **kwargs: Any) -> None:
        """``print`` on global rank 0 only, through the progress bar when one is drawing (so the
        text appears above the bar instead of inside it)."""
        if self.global_rank != 0:
            return
        bar = getattr(self._trainer, "progress_bar_callback", None)
        if bar is not None and bar.is_enabled:
            bar.print(*args, **kwargs)
        else:
            print(*args, **kwargs)

    # --- hyper-parameters and checkpoints ---------------------------------------------------
    def save_hyperparameters(
        self,
        *args: Any,
        ignore: Sequence[str] | str | None = None,
        frame: Any = None,
        logger: bool = True,
    ) -> None:
        """Store ``__init__`` arguments in ``self.hparams`` and in checkpoints (see plcore docs)."""
        frame = frame or inspect.currentframe().f_back  # type: ignore[union-attr]
        _hparams.save_hyperparameters(self, *args, ignore=ignore, frame=frame, logger=logger)

    @property
    def hparams(self) -> Any:
        """The hyper-parameters stored by save_hyperparameters (attribute access)."""
        return _hparams.get_hparams(self)

    @property
    def hparams_initial(self) -> Any:
        """A copy of the hyper-parameters as first saved."""
        return _hparams.get_hparams_initial(self)

    @classmethod
    def load_from_checkpoint(
        cls,
        checkpoint_path: Any,
        map_location: Any = None,
        hparams_file: Any = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Rebuild the module from a checkpoint's hyper-parameters and load its weights."""
        return _checkpoint.load_from_checkpoint(
            cls,
            checkpoint_path,
            map_location=map_location,
            hparams_file=hparams_file,
            strict=strict,
            **kwargs,
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Add to or change ``checkpoint`` before it is written."""

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Read what ``on_save_checkpoint`` added, before the weights are restored."""

    # --- the science ------------------------------------------------------------------------
    def training_step(self, *args: Any, **kwargs: Any) -> Any:
        """Compute and return the training loss (a tensor, a dict with ``"loss"``, or ``None``)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define `training_step(self, batch, batch_idx)`; "
            "the Trainer needs it to train."
        )

    def validation_step(self, *args: Any, **kwargs: Any) -> Any:
        """Compute validation metrics for one batch (log them with ``self.log``)."""

    def test_step(self, *args: Any, **kwargs: Any) -> Any:
        """Compute test metrics for one batch."""

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> Any:
        """Return the prediction for one batch; the default calls ``self(batch)``."""
        return self(batch)

    def configure_optimizers(self) -> Any:
        """Return the optimizer(s) and optional learning-rate scheduler(s)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define `configure_optimizers(self)`; return an "
            "optimizer from it, e.g. `return torch.optim.Adam(self.parameters(), lr=1e-3)`."
        )

    def configure_callbacks(self) -> Sequence[Any] | Any:
        """Return callbacks to add to the Trainer's (replacing those of the same type)."""
        return []

    def configure_model(self) -> None:
        """Create layers lazily, inside the strategy's context (e.g. for sharded models)."""

    # --- logging ------------------------------------------------------------------------------
    def log(
        self,
        name: str,
        value: Any,
        prog_bar: bool = False,
        logger: bool | None = None,
        on_step: bool | None = None,
        on_epoch: bool | None = None,
        reduce_fx: str | Callable[..., Any] = "mean",
        enable_graph: bool = False,
        sync_dist: bool = False,
        sync_dist_group: Any = None,
        add_dataloader_idx: bool = True,
        batch_size: int | None = None,
        metric_attribute: str | None = None,
        rank_zero_only: bool = False,
    ) -> None:
        """Log a scalar for the progress bar, the loggers and ``trainer.callback_metrics``.

        Args:
            name: the key. ``on_step`` and ``on_epoch`` both true adds ``_step`` / ``_epoch``.
            value: a scalar tensor, a Python number or a torchmetrics ``Metric``.
            prog_bar: show it in the progress bar.
            logger: send it to the loggers (default ``True``).
            on_step: keep the value of each step (default: True in training_step).
            on_epoch: aggregate over the epoch with ``reduce_fx`` (default: True in evaluation).
            reduce_fx: ``"mean"`` (weighted by ``batch_size``), ``"sum"``, ``"max"``, ``"min"``.
            enable_graph: accepted for compatibility; logged values are always detached
                (plkit keeps no graph alive between steps).
            sync_dist: reduce across processes (only when the value is read).
            sync_dist_group: accepted for compatibility; the strategy's group is used.
            add_dataloader_idx: add ``/dataloader_idx_N`` with several evaluation dataloaders.
            batch_size: weight for ``"mean"``; inferred from the batch when not given.
            metric_attribute: accepted for compatibility (torchmetrics are found by value).
            rank_zero_only: accepted for compatibility; only rank 0 writes logs anyway.
        """
        ctx = self._log_ctx
        store = ctx.store
        if store is not None and type(value) is torch.Tensor:
            # Hot path: this call site logged before with the same options in this hook.
            site = (
                ctx.fx,
                name,
                prog_bar,
                logger,
                on_step,
                on_epoch,
                reduce_fx,
                sync_dist,
                add_dataloader_idx,
                ctx.dataloader_idx,
                ctx.num_dataloaders,
            )
            entry = ctx.sites.get(site)
            if entry is not None and store.knows(entry):
                if batch_size is None and entry.on_epoch:
                    batch_size = ctx.current_batch_size()
                store.log_again(entry, value, batch_size)
                return
        else:
            site = None
        if not isinstance(name, str) or not name:
            raise TypeError(f"self.log(name, ...) needs a non-empty string name, got {name!r}.")
        if self._trainer is None:  # e.g. a unit test calling training_step directly
            warnings.warn(
                f"self.log({name!r}, ...) is ignored: {type(self).__name__} is not attached to a "
                "trainer (self.trainer is None).",
                UserWarning,
                stacklevel=2,
            )
            return
        if getattr(self._trainer, "barebones", False):
            # Lightning's behaviour: a warning, and the value is dropped.
            rank_zero_warn(
                "You are trying to `self.log()` but `Trainer(barebones=True)` is configured."
                " Logging can impact raw speed so it is disabled under this setting."
            )
            return
        on_step, on_epoch = resolve_log_options(ctx.fx, name, on_step, on_epoch)
        if ctx.store is None:
            return
        # Python numbers are put where the module lives (an NCCL all-reduce needs that)
        device = None if isinstance(value, torch.Tensor) else self.device
        dl_idx = ctx.dataloader_idx if add_dataloader_idx and ctx.num_dataloaders > 1 else None
        entry = ctx.store.log(
            ctx.fx,  # type: ignore[arg-type]
            name,
            value,
            prog_bar=prog_bar,
            logger=True if logger is None else logger,
            on_step=on_step,
            on_epoch=on_epoch,
            reduce_fx=reduce_fx,
            sync_dist=sync_dist,
            batch_size=batch_size
            if batch_size is not None or not on_epoch
            else ctx.current_batch_size(),
            dataloader_idx=dl_idx,
            device=device,
            source=ctx.dataloader_idx,
        )
        if site is not None:
            ctx.sites[site] = entry

    def log_dict(
        self,
        dictionary: Mapping[str, Any],
        prog_bar: bool = False,
        logger: bool | None = None,
        on_step: bool | None = None,
        on_epoch: bool | None = None,
        reduce_fx: str | Callable[..., Any] = "mean",
        enable_graph: bool = False,
        sync_dist: bool = False,
        sync_dist_group: Any = None,
        add_dataloader_idx: bool = True,
        batch_size: int | None = None,
        rank_zero_only: bool = False,
    ) -> None:
        """``self.log`` each item of ``dictionary`` with the same options."""
        if not isinstance(dictionary, Mapping):
            raise TypeError(
                f"self.log_dict needs a mapping of names to values, got {type(dictionary).__name__}."
            )
        for name, value in dictionary.items():
            self.log(
                name,
                value,
                prog_bar=prog_bar,
                logger=logger,
                on_step=on_step,
                on_epoch=on_epoch,
                reduce_fx=reduce_fx,
                enable_graph=enable_graph,
                sync_dist=sync_dist,
                sync_dist_group=sync_dist_group,
                add_dataloader_idx=add_dataloader_idx,
                batch_size=batch_size,
                rank_zero_only=rank_zero_only,
            )

    # --- optimization hooks ---------------------------------------------------------------------
    def optimizers(self, use_pl_optimizer: bool = True) -> Any:
        """The optimizer(s) from ``configure_optimizers``: one object, or a list when several."""
        trainer = self.trainer
        opts = trainer.lightning_optimizers if use_pl_optimizer else trainer.optimizers
        return opts[0] if len(opts) == 1 else list(opts)

    def lr_schedulers(self) -> Any:
        """The scheduler(s) from ``configure_optimizers``: one, a list, or ``None``."""
        scheds = [config.scheduler for config in self.trainer.lr_scheduler_configs]
        if not scheds:
            return None
        return scheds[0] if len(scheds) == 1 else scheds

    def manual_backward(self, loss: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        """Use instead of ``loss.backward()`` in manual optimization (precision and hooks apply)."""
        if self._trainer is None:
            self.backward(loss, *args, **kwargs)
            return
        self._trainer.manual_backward(loss, *args, **kwargs)

    def backward(self, loss: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        """Compute gradients; override to customise the backward pass."""
        loss.backward(*args, **kwargs)

    def optimizer_step(
        self,
        epoch: int,
        batch_idx: int,
        optimizer: Any,
        optimizer_closure: Callable[[], Any] | None = None,
    ) -> None:
        """Step ``optimizer``; override for learning-rate warm-up or custom updates.

        The closure runs ``training_step``, zero-grad and ``backward``: call it (through
        ``optimizer.step(closure=optimizer_closure)``) exactly as the default does.
        """
        optimizer.step(closure=optimizer_closure)

    def optimizer_zero_grad(self, epoch: int, batch_idx: int, optimizer: Any) -> None:
        """Reset gradients before the backward pass."""
        optimizer.zero_grad()

    def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
        """Step a learning-rate scheduler (``metric`` is the monitored value for ReduceLROnPlateau)."""
        if metric is None:
            scheduler.step()
        else:
            scheduler.step(metric)

    def configure_gradient_clipping(
        self,
        optimizer: Any,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Clip gradients before the optimizer step; the default uses the Trainer's settings."""
        self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def clip_gradients(
        self,
        optimizer: Any,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Clip the gradients of ``optimizer``'s parameters by norm (default) or by value.

        A value or algorithm left as None is the Trainer's (``gradient_clip_val``,
        ``gradient_clip_algorithm``); one given here that differs from a Trainer setting raises
        ``MisconfigurationException`` (use only one of them).
        """
        trainer = self._trainer
        trainer_val = getattr(trainer, "gradient_clip_val", None)
        trainer_algo = getattr(trainer, "gradient_clip_algorithm", None)
        if gradient_clip_val is None:
            gradient_clip_val = trainer_val or 0.0
        elif trainer_val is not None and trainer_val != gradient_clip_val:
            raise MisconfigurationException(
                f"Trainer(gradient_clip_val={trainer_val!r}) is set and clip_gradients got "
                f"gradient_clip_val={gradient_clip_val!r}; use only one of them."
            )
        if gradient_clip_algorithm is None:
            algorithm = trainer_algo or "norm"
        else:
            algorithm = gradient_clip_algorithm.lower()
            if trainer_algo is not None and trainer_algo != algorithm:
                raise MisconfigurationException(
                    f"Trainer(gradient_clip_algorithm={trainer_algo!r}) is set and clip_gradients "
                    f"got gradient_clip_algorithm={gradient_clip_algorithm!r}; use only one of them."
                )
        if isinstance(gradient_clip_val, bool) or not isinstance(gradient_clip_val, (int, float)):
            raise TypeError(
                f"gradient_clip_val={gradient_clip_val!r} has type "
                f"{type(gradient_clip_val).__name__}; pass an int or a float."
            )
        if algorithm not in ("norm", "value"):
            raise MisconfigurationException(
                f"gradient_clip_algorithm={gradient_clip_algorithm!r} is not supported; "
                "use 'norm' or 'value'."
            )
        if gradient_clip_val <= 0:
            return
        params = [
            p for group in optimizer.param_groups for p in group["params"] if p.grad is not None
        ]
        if algorithm == "norm":
            torch.nn.utils.clip_grad_norm_(params, float(gradient_clip_val))
        else:
            torch.nn.utils.clip_grad_value_(params, float(gradient_clip_val))

    def toggle_optimizer(self, optimizer: Any) -> None:
        """Make only ``optimizer``'s parameters require gradients (for several optimizers)."""
        own = {id(p) for group in optimizer.param_groups for p in group["params"]}
        saved: dict[nn.Parameter, bool] = {}
        for param in self.parameters():
            saved[param] = param.requires_grad
            if id(param) not in own:
                param.requires_grad_(False)
        object.__setattr__(self, "_toggled_requires_grad", saved)

    def untoggle_optimizer(self, optimizer: Any) -> None:
        """Undo :meth:`toggle_optimizer`."""
        saved = self._toggled_requires_grad or {}
        for param, flag in saved.items():
            param.requires_grad_(flag)
        object.__setattr__(self, "_toggled_requires_grad", None)

    # --- collectives ------------------------------------------------------------------------------
    def all_gather(self, data: Any, group: Any = None, sync_grads: bool = False) -> Any:
        """Gather tensors (or collections of them) from every process, stacked on a new dim 0.

        With one process the data comes back unchanged (no leading dimension), as in Lightning.
        """
        strategy = self._trainer.strategy if self._trainer is not None else None
        if strategy is None:
            return data
        return apply_to_collection(
            data, torch.Tensor, lambda t: strategy.all_gather(t, sync_grads=sync_grads)
        )

    # --- freezing -----------------------------------------------------------------------------------
    def freeze(self) -> None:
        """Stop gradients for every parameter and switch to eval mode."""
        for param in self.parameters():
            param.requires_grad_(False)
        self.eval()

    def unfreeze(self) -> None:
        """Undo :meth:`freeze`."""
        for param in self.parameters():
            param.requires_grad_(True)
        self.train()

    # --- data hooks -----------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Download or write data once per node (local rank 0 only)."""

    def setup(self, stage: str) -> None:
        """Build what needs the runtime (stage: "fit", "validate", "test" or "predict")."""

    def teardown(self, stage: str) -> None:
        """Release what :meth:`setup` built."""

    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        """Move ``batch`` to ``device``; override for custom batch types."""
        return move_data_to_device(batch, device)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Change the batch before it is moved to the device (returns the batch)."""
        return batch

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Change the batch after it is on the device (returns the batch)."""
        return batch

    # --- loop hooks (no-ops) ------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        """Called at the very beginning of fit, after configure_optimizers."""

    def on_fit_end(self) -> None:
        """Called at the very end of fit."""

    def on_train_start(self) -> None:
        """Called after the sanity check, before the first training epoch."""

    def on_train_end(self) -> None:
        """Called after the last training epoch."""

    def on_validation_start(self) -> None:
        """Called when a validation pass begins."""

    def on_validation_end(self) -> None:
        """Called when a validation pass ends (its metrics are in callback_metrics)."""

    def on_test_start(self) -> None:
        """Called when the test pass begins."""

    def on_test_end(self) -> None:
        """Called when the test pass ends."""

    def on_predict_start(self) -> None:
        """Called when prediction begins."""

    def on_predict_end(self) -> None:
        """Called when prediction ends."""

    def on_train_epoch_start(self) -> None:
        """Called at the start of each training epoch."""

    def on_train_epoch_end(self) -> None:
        """Called at the end of each training epoch (log epoch-level values here)."""

    def on_validation_epoch_start(self) -> None:
        """Called before the first validation batch of a pass."""

    def on_validation_epoch_end(self) -> None:
        """Called after the last validation batch of a pass."""

    def on_test_epoch_start(self) -> None:
        """Called before the first test batch."""

    def on_test_epoch_end(self) -> None:
        """Called after the last test batch."""

    def on_predict_epoch_start(self) -> None:
        """Called before the first prediction batch."""

    def on_predict_epoch_end(self) -> None:
        """Called after the last prediction batch."""

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> int | None:
        """Return -1 to skip the rest of this epoch."""

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Called after each training batch with the step's outputs."""

    def on_validation_batch_start(
        self, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Called before each validation batch."""

    def on_validation_batch_end(
        self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Called after each validation batch with validation_step's output."""

    def on_test_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Called before each test batch."""

    def on_test_batch_end(
        self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Called after each test batch with test_step's output."""

    def on_predict_batch_start(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Called before each prediction batch."""

    def on_predict_batch_end(
        self, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Called after each prediction batch with predict_step's output."""

    def on_before_zero_grad(self, optimizer: Any) -> None:
        """Called before gradients are reset (automatic optimization)."""

    def on_before_backward(self, loss: torch.Tensor) -> None:
        """Called with the loss before ``backward``."""

    def on_after_backward(self) -> None:
        """Called after ``backward``, when gradients exist (inspect them here)."""

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        """Called after gradients are ready (and unscaled), before clipping and the step."""

    def on_validation_model_zero_grad(self) -> None:
        """Drop gradients before validation during fit, to free their memory."""
        self.zero_grad(set_to_none=True)

    def on_validation_model_eval(self) -> None:
        """Put the model in eval mode before validation."""
        self.eval()

    def on_validation_model_train(self) -> None:
        """Put the model back in train mode after validation."""
        self.train()

    def on_test_model_eval(self) -> None:
        """Put the model in eval mode before testing."""
        self.eval()

    def on_test_model_train(self) -> None:
        """Put the model back in train mode after testing."""
        self.train()

    def on_predict_model_eval(self) -> None:
        """Put the model in eval mode before prediction."""
        self.eval()

    def on_exception(self, exception: BaseException) -> None:
        """Called when a run fails, before the exception propagates."""
