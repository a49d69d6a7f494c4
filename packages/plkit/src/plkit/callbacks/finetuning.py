"""``BaseFinetuning`` and ``BackboneFinetuning``: freeze parts of a model, unfreeze them later.

::

    from plkit.callbacks import BackboneFinetuning

    class Model(LightningModule):          # needs a ``backbone`` nn.Module attribute
        def configure_optimizers(self):    # train only what is not frozen
            return torch.optim.Adam(filter(lambda p: p.requires_grad, self.parameters()), lr=1e-3)

    trainer = Trainer(callbacks=[BackboneFinetuning(unfreeze_backbone_at_epoch=5)])

``freeze_before_training`` runs in ``setup`` (before ``configure_optimizers``);
``finetune_function`` runs at the start of every training epoch, for every optimizer. The
parameter groups the callback adds are kept in its checkpoint state (by parameter name), and a
resumed fit rebuilds them in ``on_fit_start``, before the optimizer states are loaded, and
unfreezes their parameters again (Lightning leaves them frozen; see docs/differences.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, Union

import torch
from torch.nn import Module, ModuleDict
from torch.nn.modules.batchnorm import _BatchNorm

from plcore.callback import Callback
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["BackboneFinetuning", "BaseFinetuning"]

log = logging.getLogger(__name__)

#: A module, or an iterable of modules (nested iterables allowed).
Modules = Union[Module, Iterable[Any]]


def multiplicative(epoch: int) -> float:
    """BackboneFinetuning's default ``lambda_func``: double the backbone's lr every epoch."""
    return 2.0


class BaseFinetuning(Callback):
    """The logic to write a finetuning callback: override ``freeze_before_training`` (called in
    ``setup``) and ``finetune_function`` (called at every training epoch start, per optimizer).

    Build the optimizer from the parameters that require gradients
    (``filter(lambda p: p.requires_grad, self.parameters())``), and add what you unfreeze as a
    new parameter group with :meth:`unfreeze_and_add_param_group`.
    """

    def __init__(self) -> None:
        #: per optimizer index: its parameter groups, with parameter names instead of tensors
        self._internal_optimizer_metadata: dict[int, list[dict[str, Any]]] = {}
        self._restarting = False

    def state_dict(self) -> dict[str, Any]:
        return {"internal_optimizer_metadata": self._internal_optimizer_metadata}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restarting = True
        if "internal_optimizer_metadata" in state_dict:
            self._internal_optimizer_metadata = state_dict["internal_optimizer_metadata"]
        else:  # the layout of older checkpoints: the metadata itself
            self._internal_optimizer_metadata = state_dict  # type: ignore[assignment]

    def on_fit_start(self, trainer: Trainer, pl_module: Any) -> None:
        if not self._restarting:
            return
        if self._internal_optimizer_metadata:
            named = dict(pl_module.named_parameters())
            for opt_idx, optimizer in enumerate(trainer.optimizers):
                groups = self._internal_optimizer_metadata.get(opt_idx)
                if groups is not None:
                    optimizer.param_groups = self._apply_mapping_to_param_groups(groups, named)
                    self._retrain(pl_module, optimizer.param_groups)
        self._restarting = False

    @staticmethod
    def _retrain(pl_module: Any, param_groups: list[dict[str, Any]]) -> None:
        """Unfreeze what the restored groups train: ``freeze_before_training`` froze it again in
        ``setup``, and the epoch that unfroze it is not run again. (Lightning leaves it frozen,
        so a resumed fit stops training it; see docs/differences.md.)"""
        grouped = {id(p) for group in param_groups for p in group["params"]}
        for module in pl_module.modules():
            own = [p for p in module.parameters(recurse=False) if id(p) in grouped]
            if own and isinstance(module, _BatchNorm):
                module.track_running_stats = True
            for param in own:
                param.requires_grad = True

    # --- helpers (static, as in Lightning) -------------------------------------------------------
    @staticmethod
    def flatten_modules(modules: Modules) -> list[Module]:
        """The leaf modules of ``modules`` and the parents that hold parameters themselves."""
        if isinstance(modules, ModuleDict):
            modules = modules.values()
        if isinstance(modules, Iterable):
            flat: list[Module] = []
            for m in modules:
                flat.extend(BaseFinetuning.flatten_modules(m))
            found: Iterable[Module] = flat
        else:
            found = modules.modules()
        return [m for m in found if not list(m.children()) or m._parameters]

    @staticmethod
    def filter_params(
        modules: Modules, train_bn: bool = True, requires_grad: bool = True
    ) -> Generator[torch.nn.Parameter, None, None]:
        """The parameters of ``modules`` whose ``requires_grad`` equals ``requires_grad``
        (BatchNorm layers skipped unless ``train_bn``)."""
        for mod in BaseFinetuning.flatten_modules(modules):
            if isinstance(mod, _BatchNorm) and not train_bn:
                continue
            for param in mod.parameters(recurse=False):
                if param.requires_grad == requires_grad:
                    yield param

    @staticmethod
    def make_trainable(modules: Modules) -> None:
        """Unfreeze ``modules`` (BatchNorm layers track running statistics again)."""
        for module in BaseFinetuning.flatten_modules(modules):
            if isinstance(module, _BatchNorm):
                module.track_running_stats = True
            for param in module.parameters(recurse=False):
                param.requires_grad = True

    @staticmethod
    def freeze_module(module: Module) -> None:
        """Freeze one module's own parameters (a BatchNorm stops tracking running statistics)."""
        if isinstance(module, _BatchNorm):
            module.track_running_stats = False
        for param in module.parameters(recurse=False):
            param.requires_grad = False

    @staticmethod
    def freeze(modules: Modules, train_bn: bool = True) -> None:
        """Freeze ``modules``; with ``train_bn`` their BatchNorm layers stay trainable."""
        for mod in BaseFinetuning.flatten_modules(modules):
            if isinstance(mod, _BatchNorm) and train_bn:
                BaseFinetuning.make_trainable(mod)
            else:
                BaseFinetuning.freeze_module(mod)

    @staticmethod
    def filter_on_optimizer(
        optimizer: torch.optim.Optimizer, params: Iterable[torch.Tensor]
    ) -> list[torch.Tensor]:
        """``params`` less those the optimizer already holds (compared by value, as Lightning
        does), with a warning when some are left out."""
        kept: list[torch.Tensor] = []
        removed: list[torch.Tensor] = []
        for param in params:
            held = any(
                torch.equal(p, param) for group in optimizer.param_groups for p in group["params"]
            )
            (removed if held else kept).append(param)
        if removed:
            rank_zero_warn(
                "The provided params to be frozen already exist within another group of this "
                "optimizer. Those parameters will be skipped.\n"
                "HINT: Did you init your optimizer in `configure_optimizer` as such:\n"
                f" {type(optimizer)}(filter(lambda p: p.requires_grad, self.parameters()), ...) ",
            )
        return kept

    @staticmethod
    def unfreeze_and_add_param_group(
        modules: Modules,
        optimizer: torch.optim.Optimizer,
        lr: float | None = None,
        initial_denom_lr: float = 10.0,
        train_bn: bool = True,
    ) -> None:
        """Unfreeze ``modules`` and add their parameters to ``optimizer`` as a new group.

        Args:
            modules: a module or an iterable of modules to unfreeze.
            optimizer: the optimizer that receives the new parameter group.
            lr: the group's learning rate; None: the first group's divided by
                ``initial_denom_lr``.
            initial_denom_lr: see ``lr``.
            train_bn: whether BatchNorm layers' parameters join the group.
        """
        BaseFinetuning.make_trainable(modules)
        params_lr = optimizer.param_groups[0]["lr"] if lr is None else float(lr)
        denom_lr = initial_denom_lr if lr is None else 1.0
        params = BaseFinetuning.filter_params(modules, train_bn=train_bn, requires_grad=True)
        kept = BaseFinetuning.filter_on_optimizer(optimizer, params)
        if kept:
            optimizer.add_param_group({"params": kept, "lr": params_lr / denom_lr})

    # --- the hooks -------------------------------------------------------------------------------
    def setup(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        self.freeze_before_training(pl_module)

    @staticmethod
    def _apply_mapping_to_param_groups(
        param_groups: list[dict[str, Any]], mapping: dict[Any, Any]
    ) -> list[dict[str, Any]]:
        out = []
        for group in param_groups:
            state = {k: v for k, v in group.items() if k != "params"}
            state["params"] = [mapping[p] for p in group["params"]]
            out.append(state)
        return out

    def _store(
        self,
        pl_module: Any,
        opt_idx: int,
        num_param_groups: int,
        current_param_groups: list[dict[str, Any]],
    ) -> None:
        mapping = {p: n for n, p in pl_module.named_parameters()}
        stored = self._internal_optimizer_metadata.get(opt_idx)
        if stored is None:
            self._internal_optimizer_metadata[opt_idx] = self._apply_mapping_to_param_groups(
                current_param_groups, mapping
            )
        elif num_param_groups != len(current_param_groups):
            stored.extend(
                self._apply_mapping_to_param_groups(
                    current_param_groups[num_param_groups:], mapping
                )
            )

    def on_train_epoch_start(self, trainer: Trainer, pl_module: Any) -> None:
        for opt_idx, optimizer in enumerate(trainer.optimizers):
            num_param_groups = len(optimizer.param_groups)
            self.finetune_function(pl_module, trainer.current_epoch, optimizer)
            self._store(pl_module, opt_idx, num_param_groups, optimizer.param_groups)

    def finetune_function(
        self, pl_module: Any, epoch: int, optimizer: torch.optim.Optimizer
    ) -> None:
        """Override to unfreeze what should train from ``epoch`` on."""
        raise NotImplementedError

    def freeze_before_training(self, pl_module: Any) -> None:
        """Override to freeze what should not train at first."""
        raise NotImplementedError


class BackboneFinetuning(BaseFinetuning):
    """Train the module's ``backbone`` from ``unfreeze_backbone_at_epoch`` on, at a learning rate
    that grows by ``lambda_func`` each epoch (and, with ``should_align``, stops at the rest of
    the model's).

    Args:
        unfreeze_backbone_at_epoch: the epoch (0-based) the backbone starts training.
        lambda_func: ``epoch -> factor`` for the backbone's lr each later epoch.
        backbone_initial_ratio_lr: the backbone's first lr as a fraction of the model's.
        backbone_initial_lr: the backbone's first lr (overrides the ratio).
        should_align: once the backbone's lr would pass the model's, use the model's.
        initial_denom_lr: passed to :meth:`unfreeze_and_add_param_group`.
        train_bn: whether the backbone's BatchNorm layers train while it is frozen.
        verbose: log both learning rates each epoch from the unfreezing on.
        rounding: digits of the learning rates in that log line.
    """

    def __init__(
        self,
        unfreeze_backbone_at_epoch: int = 10,
        lambda_func: Callable[[int], float] = multiplicative,
        backbone_initial_ratio_lr: float = 10e-2,
        backbone_initial_lr: float | None = None,
        should_align: bool = True,
        initial_denom_lr: float = 10.0,
        train_bn: bool = True,
        verbose: bool = False,
        rounding: int = 12,
    ) -> None:
        super().__init__()
        self.unfreeze_backbone_at_epoch = unfreeze_backbone_at_epoch
        self.lambda_func = lambda_func
        self.backbone_initial_ratio_lr = backbone_initial_ratio_lr
        self.backbone_initial_lr = backbone_initial_lr
        self.should_align = should_align
        self.initial_denom_lr = initial_denom_lr
        self.train_bn = train_bn
        self.verbose = verbose
        self.rounding = rounding
        self.previous_backbone_lr: float | None = None

    def state_dict(self) -> dict[str, Any]:
        return {
            "internal_optimizer_metadata": self._internal_optimizer_metadata,
            "previous_backbone_lr": self.previous_backbone_lr,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.previous_backbone_lr = state_dict["previous_backbone_lr"]
        super().load_state_dict(state_dict)

    def on_fit_start(self, trainer: Trainer, pl_module: Any) -> None:
        if not isinstance(getattr(pl_module, "backbone", None), Module):
            raise MisconfigurationException(
                "The LightningModule should have a nn.Module `backbone` attribute"
            )
        super().on_fit_start(trainer, pl_module)

    def freeze_before_training(self, pl_module: Any) -> None:
        self.freeze(pl_module.backbone)

    def _say(self, current_lr: float, backbone_lr: float) -> None:
        if self.verbose:
            log.info(
                f"Current lr: {round(current_lr, self.rounding)}, "
                f"Backbone lr: {round(backbone_lr, self.rounding)}"
            )

    def finetune_function(
        self, pl_module: Any, epoch: int, optimizer: torch.optim.Optimizer
    ) -> None:
        if epoch < self.unfreeze_backbone_at_epoch:
            return
        current_lr = optimizer.param_groups[0]["lr"]
        if epoch == self.unfreeze_backbone_at_epoch:
            backbone_lr = (
                self.backbone_initial_lr
                if self.backbone_initial_lr is not None
                else current_lr * self.backbone_initial_ratio_lr
            )
            self.previous_backbone_lr = backbone_lr
            self.unfreeze_and_add_param_group(
                pl_module.backbone,
                optimizer,
                backbone_lr,
                train_bn=self.train_bn,
                initial_denom_lr=self.initial_denom_lr,
            )
        else:
            assert self.previous_backbone_lr is not None, "set when the backbone was unfrozen"
            backbone_lr = self.lambda_func(epoch + 1) * self.previous_backbone_lr
            if self.should_align and backbone_lr > current_lr:
                backbone_lr = current_lr
            optimizer.param_groups[-1]["lr"] = backbone_lr
            self.previous_backbone_lr = backbone_lr
        self._say(current_lr, backbone_lr)
