"""BatchSizeFinder: find the largest batch size that fits, at the start of the entry point.

::

    trainer = Trainer(callbacks=[BatchSizeFinder(mode="binsearch")])
    trainer.fit(model)        # model.batch_size is the largest size that fits, then fit trains
"""

from __future__ import annotations

from typing import Any

from plcore import Callback, LightningModule
from plcore.utilities.exceptions import MisconfigurationException
from plcore.utilities.rank_zero import rank_zero_warn
from plkit.tuner.batch_size_scaling import scale_batch_size
from plkit.utilities.exceptions import _TunerExitException
from plkit.utilities.parsing import lightning_hasattr

__all__ = ["BatchSizeFinder"]


class BatchSizeFinder(Callback):
    """Scales the batch size in ``on_fit_start`` (and ``on_validation_start`` of
    ``trainer.validate``, ``on_test_start``, ``on_predict_start``); override the hooks and
    call :meth:`scale_batch_size` to run it elsewhere. The data must come from the module's or
    the datamodule's hooks, which read the batch size attribute.

    Args:
        mode: "power" (double until out of memory) or "binsearch" (then bisect).
        steps_per_trial: batches run at each size.
        init_val: the first size tried.
        max_trials: the most sizes tried.
        batch_arg_name: the attribute holding the batch size (in the model, its hparams or the
            datamodule).
        margin: "binsearch" only: the found size is reduced by this fraction (0 <= margin < 1).
        max_val: the largest size tried.
    """

    SUPPORTED_MODES = ("power", "binsearch")

    def __init__(
        self,
        mode: str = "power",
        steps_per_trial: int = 3,
        init_val: int = 2,
        max_trials: int = 25,
        batch_arg_name: str = "batch_size",
        margin: float = 0.05,
        max_val: int = 8192,
    ) -> None:
        mode = mode.lower()
        if mode not in self.SUPPORTED_MODES:
            raise ValueError(f"`mode` should be either of {self.SUPPORTED_MODES}")
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"`margin` should be between 0 and 1. Found margin={margin}")
        self.optimal_batch_size: int | None = init_val
        self._mode = mode
        self._steps_per_trial = steps_per_trial
        self._init_val = init_val
        self._max_trials = max_trials
        self._batch_arg_name = batch_arg_name
        self._margin = margin
        self._max_val = max_val
        self._early_exit = False

    def setup(self, trainer: Any, pl_module: LightningModule, stage: str | None = None) -> None:
        if trainer.world_size > 1:
            raise MisconfigurationException(
                "The Batch size finder is not supported with distributed strategies."
            )
        # Lightning looks at fit's data only: loaders given to fit cannot be rebuilt at a new size
        if trainer._runstate.args.train is not None:
            raise MisconfigurationException(
                "The Batch size finder cannot be used with dataloaders passed directly to"
                " `.fit()`. Please disable the feature or incorporate the dataloader into your"
                " LightningModule or LightningDataModule."
            )
        if stage != "fit":
            _refuse_several_loaders(trainer, getattr(stage, "value", stage))
        name = self._batch_arg_name
        if not lightning_hasattr(pl_module, name):
            raise MisconfigurationException(
                f"Field {name} not found in `model`, `datamodule`, nor their `hparams` attributes."
            )
        if hasattr(pl_module, name) and hasattr(pl_module, "hparams") and name in pl_module.hparams:
            rank_zero_warn(
                f"Field `model.{name}` and `model.hparams.{name}` are mutually"
                f" exclusive! `model.{name}` will be used as the initial batch size for scaling."
                " If this is not the intended behavior, please remove either one."
            )

    def scale_batch_size(self, trainer: Any, pl_module: LightningModule) -> None:
        """Run the search now; the result is ``self.optimal_batch_size``."""
        self.optimal_batch_size = scale_batch_size(
            trainer,
            self._mode,
            self._steps_per_trial,
            self._init_val,
            self._max_trials,
            self._batch_arg_name,
            self._margin,
            self._max_val,
        )
        if self._early_exit:
            raise _TunerExitException()

    def on_fit_start(self, trainer: Any, pl_module: LightningModule) -> None:
        self.scale_batch_size(trainer, pl_module)

    def on_validation_start(self, trainer: Any, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != "validate":
            return
        self.scale_batch_size(trainer, pl_module)

    def on_test_start(self, trainer: Any, pl_module: LightningModule) -> None:
        self.scale_batch_size(trainer, pl_module)

    def on_predict_start(self, trainer: Any, pl_module: LightningModule) -> None:
        self.scale_batch_size(trainer, pl_module)


#: validate / test / predict: the data hook, the entry point's own loaders, the name Lightning uses.
_EVAL_DATA = {
    "validate": ("val_dataloader", "val", "val"),
    "test": ("test_dataloader", "test", "test"),
    "predict": ("predict_dataloader", "predict", "predict"),
}


def _refuse_several_loaders(trainer: Any, stage: str) -> None:
    """One evaluation loader only (Lightning asks for them here, in ``setup``, to check)."""
    from plkit import _dataloaders

    run = trainer._runstate
    hook, arg, prefix = _EVAL_DATA[stage]
    loaders = _dataloaders.required_loaders(run, run.state.fn, getattr(run.args, arg), hook)
    if len(loaders) > 1:
        raise MisconfigurationException(
            f"The Batch size finder cannot be used with multiple {prefix} dataloaders."
        )
