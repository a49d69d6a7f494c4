"""``ModelPruning``: prune a model's parameters during training with ``torch.nn.utils.prune``.

::

    from plkit.callbacks import ModelPruning

    trainer = Trainer(callbacks=[ModelPruning("l1_unstructured", amount=0.2)])

At each training epoch end (or, with ``prune_on_train_epoch_end=False``, each validation epoch
end outside the sanity check) the parameters are pruned by ``amount``; with the lottery ticket
hypothesis the surviving weights are reset to their values at ``setup``. With
``make_pruning_permanent`` every checkpoint holds the pruned weights themselves (``weight``, not
``weight_orig`` / ``weight_mask``), on the CPU, and the model's pruning re-parametrisation is
removed when training ends. The callback's own checkpoint state holds the current masks (plkit's
addition), so a resumed fit prunes on from them exactly.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from copy import deepcopy
from functools import partial
from typing import TYPE_CHECKING, Any, TypedDict, Union

import torch.nn.utils.prune as pytorch_prune
from torch import Tensor, nn

from plcore import LightningModule
from plcore.callback import Callback
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_debug, rank_zero_only

if TYPE_CHECKING:
    from plkit.trainer import Trainer

__all__ = ["ModelPruning"]

log = logging.getLogger(__name__)

_PRUNING_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "ln_structured": pytorch_prune.ln_structured,
    "l1_unstructured": pytorch_prune.l1_unstructured,
    "random_structured": pytorch_prune.random_structured,
    "random_unstructured": pytorch_prune.random_unstructured,
}
_PRUNING_METHODS: dict[str, type[pytorch_prune.BasePruningMethod]] = {
    "ln_structured": pytorch_prune.LnStructured,
    "l1_unstructured": pytorch_prune.L1Unstructured,
    "random_structured": pytorch_prune.RandomStructured,
    "random_unstructured": pytorch_prune.RandomUnstructured,
}
_PARAM_LIST = Sequence[tuple[nn.Module, str]]
#: containers are never pruned themselves (their children are)
_MODULE_CONTAINERS = (LightningModule, nn.Sequential, nn.ModuleList, nn.ModuleDict)
_Amount = Union[int, float, Callable[[int], Union[int, float]]]
_EpochFlag = Union[bool, Callable[[int], bool]]


class _LayerRef(TypedDict):
    data: nn.Module
    names: list[tuple[int, str]]


class ModelPruning(Callback):
    """Prune parameters during training.

    Args:
        pruning_fn: a name (``"l1_unstructured"``, ``"random_unstructured"``,
            ``"ln_structured"``, ``"random_structured"``) or a
            ``torch.nn.utils.prune.BasePruningMethod`` subclass (the class, not an instance).
        parameters_to_prune: ``(module, parameter name)`` pairs; empty: every ``weight`` /
            ``bias`` (``parameter_names``) of every non-container module.
        parameter_names: ``"weight"`` and / or ``"bias"``.
        use_global_unstructured: prune globally across ``parameters_to_prune`` (unstructured
            methods only).
        amount: the fraction (float) or number (int) of parameters to prune, or
            ``epoch -> amount``.
        apply_pruning: whether to prune, or ``epoch -> bool``.
        make_pruning_permanent: save pruned weights in checkpoints and remove the
            re-parametrisation when training ends.
        use_lottery_ticket_hypothesis: reset the surviving weights to their values at setup
            (or ``epoch -> bool``).
        resample_parameters: with the lottery ticket, draw new initial values instead.
        pruning_dim: the dimension of structured pruning (required for it).
        pruning_norm: the norm of ``"ln_structured"`` (required for it).
        verbose: 1 logs the overall sparsity after each pruning, 2 also each parameter's.
        prune_on_train_epoch_end: prune at the training epoch's end; False: at the
            validation epoch's end.
    """

    PARAMETER_NAMES = ("weight", "bias")

    def __init__(
        self,
        pruning_fn: Callable[..., Any] | str,
        parameters_to_prune: _PARAM_LIST = (),
        parameter_names: list[str] | None = None,
        use_global_unstructured: bool = True,
        amount: _Amount = 0.5,
        apply_pruning: _EpochFlag = True,
        make_pruning_permanent: bool = True,
        use_lottery_ticket_hypothesis: _EpochFlag = True,
        resample_parameters: bool = False,
        pruning_dim: int | None = None,
        pruning_norm: int | None = None,
        verbose: int = 0,
        prune_on_train_epoch_end: bool = True,
    ) -> None:
        self._use_global_unstructured = use_global_unstructured
        self._parameters_to_prune = parameters_to_prune
        self._use_lottery_ticket_hypothesis = use_lottery_ticket_hypothesis
        self._resample_parameters = resample_parameters
        self._prune_on_train_epoch_end = prune_on_train_epoch_end
        self._parameter_names: Sequence[str] = parameter_names or self.PARAMETER_NAMES
        self._global_kwargs: dict[str, Any] = {}
        self._original_layers: dict[int, _LayerRef] | None = None
        self._pruning_method_name: str | None = None
        self._qualified_names: list[str] = []  # "l1.weight" for each of _parameters_to_prune
        self._restored_masks: dict[str, Tensor] | None = None
        self._rewound = False  # the lottery ticket has rewound to the originals (not resampled)
        self._restored_rewound = False
        for name in self._parameter_names:
            if name not in self.PARAMETER_NAMES:
                raise MisconfigurationException(
                    f"The provided `parameter_names` name: {name} isn't in {self.PARAMETER_NAMES}"
                )
        self.pruning_fn = self._resolve_pruning_fn(pruning_fn, pruning_dim, pruning_norm)
        if use_global_unstructured and self.pruning_fn.PRUNING_TYPE != "unstructured":
            raise MisconfigurationException(
                'Only the "unstructured" PRUNING_TYPE is supported with '
                f"`use_global_unstructured=True`. Found method {self.pruning_fn} of type "
                f"{self.pruning_fn.PRUNING_TYPE}. "
            )
        self._apply_pruning = apply_pruning
        self._make_pruning_permanent = make_pruning_permanent
        if not (isinstance(amount, (int, float)) or callable(amount)):
            raise MisconfigurationException(
                "`amount` should be provided and be either an int, a float or Callable function."
            )
        self.amount = amount
        if verbose not in (0, 1, 2):
            raise MisconfigurationException("`verbose` must be any of (0, 1, 2)")
        self._verbose = verbose

    def _resolve_pruning_fn(
        self, pruning_fn: Any, pruning_dim: int | None, pruning_norm: int | None
    ) -> Any:
        if isinstance(pruning_fn, str):
            kwargs: dict[str, Any] = {}
            pruning_fn = pruning_fn.lower()
            if pruning_fn not in _PRUNING_FUNCTIONS:
                raise MisconfigurationException(
                    f"The provided `pruning_fn` {pruning_fn} isn't available in PyTorch's"
                    f" built-in functions: {list(_PRUNING_FUNCTIONS.keys())} "
                )
            if pruning_fn.endswith("_structured"):
                if pruning_dim is None:
                    raise MisconfigurationException(
                        "When requesting `structured` pruning, the `pruning_dim` should be provided."
                    )
                if pruning_fn == "ln_structured":
                    if pruning_norm is None:
                        raise MisconfigurationException(
                            "When requesting `ln_structured` pruning, the `pruning_norm` should be"
                            " provided."
                        )
                    kwargs["n"] = pruning_norm
                kwargs["dim"] = pruning_dim
            return self._create_pruning_fn(pruning_fn, **kwargs)
        if self._is_pruning_method(pruning_fn):
            if not self._use_global_unstructured:
                raise MisconfigurationException(
                    "PyTorch `BasePruningMethod` is currently only supported with"
                    " `use_global_unstructured=True`."
                )
            return pruning_fn
        raise MisconfigurationException(
            f"`pruning_fn` is expected to be a str in {list(_PRUNING_FUNCTIONS.keys())}"
            f" or a PyTorch `BasePruningMethod`. Found: {pruning_fn}."
            " HINT: if passing a `BasePruningMethod`, pass the class, not an instance"
        )

    def filter_parameters_to_prune(self, parameters_to_prune: _PARAM_LIST = ()) -> _PARAM_LIST:
        """Override to choose which of the sanitised ``(module, name)`` pairs are pruned."""
        return parameters_to_prune

    def _create_pruning_fn(self, pruning_fn: str, **kwargs: Any) -> Any:
        """The method class (global pruning, its keyword arguments kept for later) or the
        function with its keyword arguments bound (local pruning)."""
        if self._use_global_unstructured:
            method = _PRUNING_METHODS[pruning_fn]
            self._global_kwargs = kwargs
            self._pruning_method_name = method.__name__
            return method
        function = _PRUNING_FUNCTIONS[pruning_fn]
        self._pruning_method_name = function.__name__
        return self._wrap_pruning_fn(function, **kwargs)

    @staticmethod
    def _wrap_pruning_fn(pruning_fn: Callable[..., Any], **kwargs: Any) -> Callable[..., Any]:
        return partial(pruning_fn, **kwargs)

    def make_pruning_permanent(self, module: nn.Module) -> None:
        """Remove the pruning re-parametrisation (``*_orig``, ``*_mask``, the forward pre-hook)
        from every submodule, leaving the pruned weights as plain parameters."""
        for _, sub in module.named_modules():
            for key in list(sub._forward_pre_hooks):
                hook = sub._forward_pre_hooks[key]
                if isinstance(hook, pytorch_prune.BasePruningMethod):
                    hook.remove(sub)
                    del sub._forward_pre_hooks[key]

    @staticmethod
    def _copy_param(new: nn.Module, old: nn.Module, name: str) -> None:
        dst = getattr(new, name + "_orig") if hasattr(new, name + "_orig") else getattr(new, name)
        src = getattr(old, name)
        if isinstance(dst, Tensor) and isinstance(src, Tensor):
            dst.data = src.data.to(dst.device)

    def apply_lottery_ticket_hypothesis(self) -> None:
        """Reset the surviving parameters to their values at ``setup`` (the "winning ticket";
        with ``resample_parameters``, to freshly drawn ones)."""
        assert self._original_layers is not None, "set in setup"
        for ref in self._original_layers.values():
            copy = ref["data"]
            if self._resample_parameters and callable(getattr(copy, "reset_parameters", None)):
                copy = deepcopy(copy)  # the originals stay for the next time
                copy.reset_parameters()  # type: ignore[operator]
            for i, name in ref["names"]:
                new, _ = self._parameters_to_prune[i]
                self._copy_param(new, copy, name)
        # On one device the parameters now share the originals' storage (``.data =``, as in
        # Lightning), so training moves the originals too and later rewinds change nothing.
        self._rewound = self._rewound or not self._resample_parameters

    def _apply_local_pruning(self, amount: float) -> None:
        for module, name in self._parameters_to_prune:
            self.pruning_fn(module, name=name, amount=amount)

    def _resolve_global_kwargs(self, amount: float) -> dict[str, Any]:
        self._global_kwargs["amount"] = amount
        params = set(inspect.signature(self.pruning_fn).parameters)
        params.discard("self")
        return {k: v for k, v in self._global_kwargs.items() if k in params}

    def _apply_global_pruning(self, amount: float) -> None:
        pytorch_prune.global_unstructured(
            self._parameters_to_prune,
            pruning_method=self.pruning_fn,
            **self._resolve_global_kwargs(amount),
        )

    @staticmethod
    def _get_pruned_stats(module: nn.Module, name: str) -> tuple[int, int]:
        mask = getattr(module, f"{name}_mask", None)
        if mask is None:
            return 0, 1
        return int((mask == 0).sum().item()), mask.numel()

    def apply_pruning(self, amount: int | float) -> None:
        """Prune ``parameters_to_prune`` by ``amount`` (logging the sparsity with ``verbose``)."""
        prev = (
            [self._get_pruned_stats(m, n) for m, n in self._parameters_to_prune]
            if self._verbose
            else []
        )
        if self._use_global_unstructured:
            self._apply_global_pruning(amount)
        else:
            self._apply_local_pruning(amount)
        if self._verbose:
            curr = [self._get_pruned_stats(m, n) for m, n in self._parameters_to_prune]
            self._log_sparsity_stats(prev, curr, amount=amount)

    @rank_zero_only
    def _log_sparsity_stats(
        self, prev: list[tuple[int, int]], curr: list[tuple[int, int]], amount: int | float = 0
    ) -> None:
        total = sum(size for _, size in curr)
        before = sum(zeros for zeros, _ in prev)
        after = sum(zeros for zeros, _ in curr)
        log.info(
            f"Applied `{self._pruning_method_name}`. Pruned:"
            f" {before}/{total} ({before / total:.2%}) ->"
            f" {after}/{total} ({after / total:.2%})"
        )
        if self._verbose == 2:
            for i, (module, name) in enumerate(self._parameters_to_prune):
                prev_zeros, prev_size = prev[i]
                curr_zeros, curr_size = curr[i]
                log.info(
                    f"Applied `{self._pruning_method_name}` to `{module!r}.{name}` with "
                    f"amount={amount}. Pruned: {prev_zeros} ({prev_zeros / prev_size:.2%}) ->"
                    f" {curr_zeros} ({curr_zeros / curr_size:.2%})"
                )

    # --- the hooks -------------------------------------------------------------------------------
    def setup(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
        parameters_to_prune = self.sanitize_parameters_to_prune(
            pl_module, self._parameters_to_prune, parameter_names=self._parameter_names
        )
        self._parameters_to_prune = self.filter_parameters_to_prune(parameters_to_prune)
        module_names = {id(m): n for n, m in pl_module.named_modules()}
        self._qualified_names = [
            f"{module_names[id(m)]}.{name}".lstrip(".") if id(m) in module_names else name
            for m, name in self._parameters_to_prune
        ]
        if self._use_lottery_ticket_hypothesis:
            self._original_layers = {}
            for i, (module, name) in enumerate(self._parameters_to_prune):
                ref = self._original_layers.setdefault(
                    id(module), _LayerRef(data=deepcopy(module), names=[])
                )
                ref["names"].append((i, name))

    def _run_pruning(self, current_epoch: int) -> None:
        flag, amount = self._apply_pruning, self.amount
        prune = flag(current_epoch) if callable(flag) else flag
        amount = amount(current_epoch) if callable(amount) else amount
        if not prune or not amount:
            return
        self.apply_pruning(amount)
        lottery = self._use_lottery_ticket_hypothesis
        if lottery(current_epoch) if callable(lottery) else lottery:
            self.apply_lottery_ticket_hypothesis()

    # --- checkpoint state (plkit's addition: the masks, so that a resumed fit prunes on) ---------
    def state_dict(self) -> dict[str, Any]:
        """The current masks by parameter name (``{}`` before the first pruning and once it is
        permanent). Lightning keeps no state, so its resumed fits start pruning afresh from the
        saved weights; see docs/differences.md#pruning-resume-keeps-the-masks."""
        masks = {
            qualified: getattr(module, f"{name}_mask").detach().cpu()
            for (module, name), qualified in zip(self._parameters_to_prune, self._qualified_names)
            if hasattr(module, f"{name}_mask")
        }
        return {"masks": masks, "rewound": self._rewound} if masks else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored_masks = state_dict.get("masks") or None
        self._restored_rewound = bool(state_dict.get("rewound"))

    def on_fit_start(self, trainer: Trainer, pl_module: Any) -> None:
        """A resumed fit: put the checkpoint's masks back on their parameters, before the next
        pruning (which then prunes what is left, as the interrupted run would have)."""
        masks, self._restored_masks = self._restored_masks, None
        if not masks:
            return
        for (module, name), qualified in zip(self._parameters_to_prune, self._qualified_names):
            mask = masks.get(qualified)
            if mask is not None and not hasattr(module, f"{name}_mask"):
                pytorch_prune.custom_from_mask(module, name, mask.to(getattr(module, name).device))
        if self._restored_rewound and self._original_layers is not None:
            self._rewound = True
            self._share_originals()

    def _share_originals(self) -> None:
        """What the interrupted run had after its rewind: originals sharing the parameters'
        storage where both live on one device (the loaded values are the trained ones)."""
        assert self._original_layers is not None
        for ref in self._original_layers.values():
            for i, name in ref["names"]:
                new, _ = self._parameters_to_prune[i]
                current = getattr(new, name + "_orig", None)
                original = getattr(ref["data"], name)
                if (
                    isinstance(current, Tensor)
                    and isinstance(original, Tensor)
                    and original.device == current.device
                ):
                    original.data = current.data

    def on_train_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
        if self._prune_on_train_epoch_end:
            rank_zero_debug("`ModelPruning.on_train_epoch_end`. Applying pruning")
            self._run_pruning(pl_module.current_epoch)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: Any) -> None:
        if not trainer.sanity_checking and not self._prune_on_train_epoch_end:
            rank_zero_debug("`ModelPruning.on_validation_epoch_end`. Applying pruning")
            self._run_pruning(pl_module.current_epoch)

    def on_train_end(self, trainer: Trainer, pl_module: Any) -> None:
        if self._make_pruning_permanent:
            rank_zero_debug(
                "`ModelPruning.on_train_end`. Pruning is made permanent for this checkpoint"
            )
            self.make_pruning_permanent(pl_module)

    def _make_pruning_permanent_on_state_dict(self, pl_module: Any) -> dict[str, Any]:
        """The module's state dict with each pruned ``name`` as ``mask * name_orig``, on the CPU
        (the module itself keeps its re-parametrisation)."""
        state_dict = pl_module.state_dict()
        pruned = {k.replace("_mask", "") for k in state_dict if k.endswith("_mask")}
        for name in pruned:
            orig = state_dict.pop(name + "_orig")
            mask = state_dict.pop(name + "_mask")
            state_dict[name] = mask.to(dtype=orig.dtype) * orig
        return {k: v.cpu() if isinstance(v, Tensor) else v for k, v in state_dict.items()}

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: Any, checkpoint: dict[str, Any]
    ) -> None:
        if self._make_pruning_permanent:
            rank_zero_debug(
                "`ModelPruning.on_save_checkpoint`. Pruning is made permanent for this checkpoint"
            )
            checkpoint["state_dict"] = self._make_pruning_permanent_on_state_dict(pl_module)

    @staticmethod
    def sanitize_parameters_to_prune(
        pl_module: Any, parameters_to_prune: _PARAM_LIST = (), parameter_names: Sequence[str] = ()
    ) -> _PARAM_LIST:
        """Check ``parameters_to_prune`` against the module, or (when empty) list every
        ``parameter_names`` parameter of its non-container modules."""
        names = parameter_names or ModelPruning.PARAMETER_NAMES
        current = [m for m in pl_module.modules() if not isinstance(m, _MODULE_CONTAINERS)]
        if not parameters_to_prune:
            return [
                (m, p)
                for p in names
                for m in current
                if isinstance(getattr(m, p, None), nn.Parameter)
            ]
        if not (
            isinstance(parameters_to_prune, (list, tuple))
            and all(len(p) == 2 for p in parameters_to_prune)
            and all(isinstance(a, nn.Module) and isinstance(b, str) for a, b in parameters_to_prune)
        ):
            raise MisconfigurationException(
                "The provided `parameters_to_prune` should either be list of tuple"
                " with 2 elements: (nn.Module, parameter_name_to_prune) or None"
            )
        missing_modules, missing_parameters = [], []
        for module, name in parameters_to_prune:
            if module not in current:
                missing_modules.append(module)
            elif not hasattr(module, name):
                missing_parameters.append(name)
        if missing_modules or missing_parameters:
            raise MisconfigurationException(
                "Some provided `parameters_to_prune` don't exist in the model."
                f" Found missing modules: {missing_modules} and missing parameters:"
                f" {missing_parameters}"
            )
        return parameters_to_prune

    @staticmethod
    def _is_pruning_method(method: Any) -> bool:
        return inspect.isclass(method) and issubclass(method, pytorch_prune.BasePruningMethod)
